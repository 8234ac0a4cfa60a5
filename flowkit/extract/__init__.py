"""Dataset extraction: video folders to RGB and quantised flow JPEGs, as MMAction2 rawframe
folders or HDF5 shards, resumable and safe to kill.

:func:`extract` runs it (:mod:`.run`), configured by :class:`ExtractConfig` and
:class:`RunOptions` (:mod:`.config`); :mod:`.layout` is the on-disk contract of an output
folder (its file names, the line formats of its bookkeeping files, :func:`frame_name`), which
readers such as ``fusionnet`` import rather than spell again; :mod:`.video` finds and decodes
videos; :mod:`.rawframes` and :mod:`.shards` write the two formats; :mod:`.pipeline` is one
worker and :mod:`.pool` the worker processes.
"""

from .config import FORMATS as FORMATS
from .config import GPU_BATCH_PIXELS as GPU_BATCH_PIXELS
from .config import ExtractConfig as ExtractConfig
from .config import ExtractSummary as ExtractSummary
from .config import RunOptions as RunOptions
from .config import Task as Task
from .config import VideoResult as VideoResult
from .layout import ANNOTATIONS_NAME as ANNOTATIONS_NAME
from .layout import FAILURES_NAME as FAILURES_NAME
from .layout import FLOW_ANNOTATIONS_NAME as FLOW_ANNOTATIONS_NAME
from .layout import FRAME_KINDS as FRAME_KINDS
from .layout import INDEX_NAME as INDEX_NAME
from .layout import LISTS_DIR as LISTS_DIR
from .layout import META_NAME as META_NAME
from .layout import RESERVED_NAMES as RESERVED_NAMES
from .layout import SETTINGS_NAME as SETTINGS_NAME
from .layout import SHARDS_DIR as SHARDS_DIR
from .layout import frame_name as frame_name
from .layout import parse_annotation_line as parse_annotation_line
from .layout import parse_frame_name as parse_frame_name
from .layout import read_lines as read_lines
from .layout import read_meta as read_meta
from .run import check_outputs as check_outputs
from .run import extract as extract
from .run import select_shard as select_shard
from .shards import ShardVideo as ShardVideo
from .shards import read_shard_video as read_shard_video
from .shards import shard_index as shard_index
from .shards import write_shard as write_shard
from .video import VIDEO_EXTENSIONS as VIDEO_EXTENSIONS
from .video import Resize as Resize
from .video import VideoEntry as VideoEntry
from .video import VideoInfo as VideoInfo
from .video import VideoReader as VideoReader
from .video import find_videos as find_videos
from .video import read_video_list as read_video_list

__all__ = [
    "ANNOTATIONS_NAME",
    "FAILURES_NAME",
    "FLOW_ANNOTATIONS_NAME",
    "FORMATS",
    "FRAME_KINDS",
    "GPU_BATCH_PIXELS",
    "INDEX_NAME",
    "LISTS_DIR",
    "META_NAME",
    "RESERVED_NAMES",
    "SETTINGS_NAME",
    "SHARDS_DIR",
    "VIDEO_EXTENSIONS",
    "ExtractConfig",
    "ExtractSummary",
    "Resize",
    "RunOptions",
    "ShardVideo",
    "Task",
    "VideoEntry",
    "VideoInfo",
    "VideoReader",
    "VideoResult",
    "check_outputs",
    "extract",
    "find_videos",
    "frame_name",
    "parse_annotation_line",
    "parse_frame_name",
    "read_lines",
    "read_meta",
    "read_shard_video",
    "read_video_list",
    "select_shard",
    "shard_index",
    "write_shard",
]
