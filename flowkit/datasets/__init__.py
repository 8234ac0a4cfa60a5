"""Synthetic data, made here rather than downloaded: the "what moves where" action dataset in
UCF101's layout (:mod:`.what_moves`, ``tsf synth``), and frame pairs and videos with a known flow
for the tests, benchmarks and ``make demo`` (:mod:`.known_flow`).
"""

from .known_flow import layered_pair as layered_pair
from .known_flow import moving_frames as moving_frames
from .known_flow import smooth_flow as smooth_flow
from .known_flow import texture as texture
from .known_flow import translation_flow as translation_flow
from .known_flow import warped_pair as warped_pair
from .known_flow import write_demo_videos as write_demo_videos
from .known_flow import write_pair as write_pair
from .known_flow import write_video as write_video
from .what_moves import SYNTH_CLASSES as SYNTH_CLASSES
from .what_moves import SYNTH_COLOURS as SYNTH_COLOURS
from .what_moves import SYNTH_FAMILIES as SYNTH_FAMILIES
from .what_moves import SynthConfig as SynthConfig
from .what_moves import SynthVideo as SynthVideo
from .what_moves import synth_video as synth_video
from .what_moves import write_synth_dataset as write_synth_dataset

__all__ = [
    "SYNTH_CLASSES",
    "SYNTH_COLOURS",
    "SYNTH_FAMILIES",
    "SynthConfig",
    "SynthVideo",
    "layered_pair",
    "moving_frames",
    "smooth_flow",
    "synth_video",
    "texture",
    "translation_flow",
    "warped_pair",
    "write_demo_videos",
    "write_pair",
    "write_synth_dataset",
    "write_video",
]
