"""PyTorch's ``torch.utils.tensorboard``: ``SummaryWriter`` writes TensorBoard event files
(scalars, groups of scalars, text, histograms) through the ``tensorboard`` package, as
PyTorch's does, so a training script that logs with it (CleanRL's, every one of which
starts ``from torch.utils.tensorboard import SummaryWriter``) runs unchanged. As in
PyTorch, importing this module without ``tensorboard`` installed raises ImportError.

>>> from chainrule.utils.tensorboard import SummaryWriter   # doctest: +SKIP
>>> writer = SummaryWriter("runs/ppo")                        # doctest: +SKIP
>>> writer.add_scalar("losses/value_loss", 0.5, global_step=10)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime

import numpy as np

try:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
except ImportError as error:
    raise ImportError("TensorBoard logging requires TensorBoard version 1.15 or above: pip install tensorboard "
                      "(chainrule.utils.tensorboard writes its event files)") from error

__all__ = ["SummaryWriter"]


def _number(value) -> float:
    """A scalar (a Python or NumPy number, a one-element array or Tensor) as a float."""
    array = np.asarray(value.detach().numpy() if hasattr(value, "detach") else value)
    if array.squeeze().ndim != 0:
        raise AssertionError("Tensor should contain one element (0 dimensions). Was given size: "
                             f"{array.size} and {array.squeeze().ndim} dimensions.")
    return float(array)


def _scalar(tag: str, value, new_style: bool = False, double_precision: bool = False) -> Summary:
    value = _number(value)
    if not new_style:
        return Summary(value=[Summary.Value(tag=tag, simple_value=value)])
    tensor = (TensorProto(double_val=[value], dtype="DT_DOUBLE") if double_precision
              else TensorProto(float_val=[value], dtype="DT_FLOAT"))
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=metadata)])


def _text(tag: str, text: str) -> Summary:
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name="text", content=TextPluginData(version=0).SerializeToString()))
    tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode(encoding="utf_8")],
                         tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=metadata, tensor=tensor)])


def _histogram(tag: str, values, bins, max_bins=None) -> Summary:
    """PyTorch's histogram summary: NumPy's histogram with the empty buckets at both ends cut
    to one, merged down to ``max_bins`` buckets where there are more."""
    values = np.asarray(values.detach().numpy() if hasattr(values, "detach") else values, dtype=float).reshape(-1)
    if values.size == 0:
        raise ValueError("The input has no element.")
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        subsampling = len(counts) // max_bins
        remainder = len(counts) % subsampling
        if remainder:
            counts = np.pad(counts, [[0, subsampling - remainder]], mode="constant", constant_values=0)
        counts = counts.reshape(-1, subsampling).sum(axis=-1)
        new_limits = np.empty((counts.size + 1,), limits.dtype)
        new_limits[:-1] = limits[:-1:subsampling]
        new_limits[-1] = limits[-1]
        limits = new_limits
    cum_counts = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(cum_counts, [0, cum_counts[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    proto = HistogramProto(min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
                           sum_squares=values.dot(values), bucket_limit=limits.tolist(), bucket=counts.tolist())
    return Summary(value=[Summary.Value(tag=tag, histo=proto)])


def _default_bins() -> list[float]:
    # TensorFlow's buckets, which PyTorch's bins="tensorflow" means
    v, buckets = 1e-12, []
    while v < 1e20:
        buckets.append(v)
        v *= 1.1
    return [-b for b in reversed(buckets)] + [0] + buckets


class _FileWriter:
    def __init__(self, log_dir: str, max_queue: int, flush_secs: int, filename_suffix: str):
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs, filename_suffix)

    def get_logdir(self) -> str:
        return self.event_writer.get_logdir()

    def add_summary(self, summary: Summary, step=None, walltime=None) -> None:
        event = Event(summary=summary)
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def flush(self) -> None:
        self.event_writer.flush()

    def close(self) -> None:
        self.event_writer.close()


class SummaryWriter:
    """``torch.utils.tensorboard.SummaryWriter(log_dir=None, comment='', purge_step=None,
    max_queue=10, flush_secs=120, filename_suffix='')``: ``log_dir`` defaults to
    ``runs/<month><day>_<hh>-<mm>-<ss>_<host><comment>``; ``add_scalar``, ``add_scalars``,
    ``add_text``, ``add_histogram``, ``flush`` and ``close`` (also as a context manager)
    write what PyTorch's writes. ``purge_step`` is not supported."""

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = ""):
        if purge_step is not None:
            raise NotImplementedError("SummaryWriter(purge_step=...) is not supported; leave it None")
        if not log_dir:
            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.max_queue, self.flush_secs, self.filename_suffix = max_queue, flush_secs, filename_suffix
        self.file_writer = _FileWriter(self.log_dir, max_queue, flush_secs, filename_suffix)
        self.all_writers = {self.log_dir: self.file_writer}
        self.default_bins = _default_bins()

    def get_logdir(self) -> str:
        return self.log_dir

    def add_scalar(self, tag: str, scalar_value, global_step=None, walltime=None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        self.file_writer.add_summary(_scalar(tag, scalar_value, new_style, double_precision), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step=None, walltime=None) -> None:
        """Each value in a writer of its own, ``<log_dir>/<main_tag>_<tag>``, under the tag
        ``main_tag``: one plot of them all in TensorBoard."""
        walltime = time.time() if walltime is None else walltime
        for tag, scalar_value in tag_scalar_dict.items():
            fw_tag = self.log_dir + "/" + main_tag.replace("/", "_") + "_" + tag
            if fw_tag not in self.all_writers:
                self.all_writers[fw_tag] = _FileWriter(fw_tag, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers[fw_tag].add_summary(_scalar(main_tag, scalar_value), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step=None, walltime=None) -> None:
        self.file_writer.add_summary(_text(tag, text_string), global_step, walltime)

    def add_histogram(self, tag: str, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None) -> None:
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self.file_writer.add_summary(_histogram(tag, values, bins, max_bins), global_step, walltime)

    def flush(self) -> None:
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.all_writers = {}

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
