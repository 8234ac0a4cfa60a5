"""What the networks read: ``tsf extract-flow`` outputs, splits, clips and their loaders, MMAction2 lists.

- :mod:`~fusionnet.data.frames`: the frame stores over flowkit's output layout (:func:`open_frames`);
- :mod:`~fusionnet.data.splits`: UCF101, HMDB51 and users' split files (:func:`load_split`);
- :mod:`~fusionnet.data.sampling`: which frames, crop and flip make a clip (:class:`SamplingConfig`);
- :mod:`~fusionnet.data.datasets`: training and test clips and their loaders (:class:`ClipDataset`);
- :mod:`~fusionnet.data.lists`: MMAction2 list files of the splits (:func:`write_mmaction_lists`).
"""

from .datasets import ClipDataset as ClipDataset
from .datasets import EpochSampler as EpochSampler
from .datasets import EvalDataset as EvalDataset
from .datasets import EvalViews as EvalViews
from .datasets import iter_batches as iter_batches
from .datasets import make_eval_loader as make_eval_loader
from .datasets import make_loader as make_loader
from .frames import FrameStore as FrameStore
from .frames import RawframeStore as RawframeStore
from .frames import ShardStore as ShardStore
from .frames import open_frames as open_frames
from .lists import LISTS_SETTINGS_NAME as LISTS_SETTINGS_NAME
from .lists import ListFile as ListFile
from .lists import ListsSummary as ListsSummary
from .lists import find_splits as find_splits
from .lists import read_annotations as read_annotations
from .lists import write_mmaction_lists as write_mmaction_lists
from .sampling import CROPS as CROPS
from .sampling import STREAMS as STREAMS
from .sampling import ClipPlan as ClipPlan
from .sampling import SamplingConfig as SamplingConfig
from .sampling import clip_positions as clip_positions
from .sampling import crop_box as crop_box
from .sampling import fit_clip as fit_clip
from .sampling import mirror as mirror
from .sampling import temporal_indices as temporal_indices
from .splits import DATASETS as DATASETS
from .splits import Split as Split
from .splits import check_available as check_available
from .splits import load_split as load_split
from .splits import unsafe_id as unsafe_id

__all__ = [
    "CROPS",
    "DATASETS",
    "LISTS_SETTINGS_NAME",
    "STREAMS",
    "ClipDataset",
    "ClipPlan",
    "EpochSampler",
    "EvalDataset",
    "EvalViews",
    "FrameStore",
    "ListFile",
    "ListsSummary",
    "RawframeStore",
    "SamplingConfig",
    "ShardStore",
    "Split",
    "check_available",
    "clip_positions",
    "crop_box",
    "find_splits",
    "fit_clip",
    "iter_batches",
    "load_split",
    "make_eval_loader",
    "make_loader",
    "mirror",
    "open_frames",
    "read_annotations",
    "temporal_indices",
    "unsafe_id",
    "write_mmaction_lists",
]
