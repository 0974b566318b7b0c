"""``onnxruntime``: an ONNX file run by onnxruntime.

On CPU, tensors go in and out as numpy arrays. On CUDA (with ``onnxruntime-gpu`` installed) the
inputs and output stay on the device: io_binding hands onnxruntime the torch tensors' device
pointers; onnxruntime runs on its own stream, so a call waits once for PyTorch's queued work
before it. A model with a fixed batch of 1 (insightface's files) is run once per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtswap.errors import DependencyError, ModelLoadError
from rtswap.runtime.base import join_outputs


def session(path: Path, device: torch.device) -> Any:
    """An onnxruntime InferenceSession for ``path`` on ``device`` (one-line errors)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise DependencyError("onnxruntime is not installed: pip install -e '.[neural]'") from None
    providers: list[str | tuple[str, dict[str, int]]] = ["CPUExecutionProvider"]
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise DependencyError(
                "onnxruntime on CUDA needs onnxruntime-gpu: pip install onnxruntime-gpu "
                "(or --backend inductor)"
            )
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    options.intra_op_num_threads = torch.get_num_threads()  # the same share of cores as torch ops
    try:
        created = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise ModelLoadError(f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0]})") from None
    if device.type == "cuda" and "CUDAExecutionProvider" not in created.get_providers():
        # onnxruntime falls back to its CPU provider, with only a warning, when the CUDA one's
        # libraries (CUDA, cuDNN) fail to load
        raise DependencyError(
            "onnxruntime's CUDA provider did not load (its CUDA or cuDNN libraries are missing or of "
            "another version), so it would run on the CPU: install the ones onnxruntime-gpu names, "
            "or use --backend inductor"
        )
    return created


_NUMPY_TYPES: dict[str, type] = {"tensor(double)": np.float64}


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(
        self,
        path: Path,
        device: torch.device,
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
        example: Sequence[torch.Tensor] = (),
    ) -> None:
        """``inputs``: the graph inputs the call's tensors go to, in order (default: the file's
        order); ``outputs``: the outputs returned (default: the first), several joined along
        the channel axis; ``example``: one set of inputs, a batch of one, for :meth:`warmup`."""
        self.device, self.example = device, example
        self.session = session(path, device)
        declared = {i.name: i for i in self.session.get_inputs()}
        self.input_names = list(inputs or declared)
        self.input_ranks = [len(declared[name].shape) for name in self.input_names]
        self.input_types = [_NUMPY_TYPES.get(declared[name].type, np.float32) for name in self.input_names]
        """float32 but where the file declares double (CodeFormer's fidelity weight)."""
        produced = {o.name: o for o in self.session.get_outputs()}
        self.outputs = [produced[name] for name in (outputs or list(produced)[:1])]
        self.per_item = declared[self.input_names[0]].shape[0] == 1
        """The file's batch dimension is fixed at 1: run the items one by one."""

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        batch, *shared = inputs
        # shared inputs get the batch-of-one dimension the file declares for them
        shared = [
            x[None] if x.ndim < rank else x for x, rank in zip(shared, self.input_ranks[1:], strict=True)
        ]
        if self.device.type == "cuda":
            torch.cuda.current_stream(self.device).synchronize()  # the inputs are written
        if self.per_item:
            return torch.cat([self._run(batch[i : i + 1], shared) for i in range(len(batch))])
        return self._run(batch, shared)

    def _run(self, batch: torch.Tensor, shared: list[torch.Tensor]) -> torch.Tensor:
        tensors = [batch, *shared]
        if self.device.type == "cuda":
            return join_outputs(self._run_bound(tensors))
        feed: dict[str, np.ndarray] = {
            name: t.detach().cpu().numpy().astype(kind)
            for name, t, kind in zip(self.input_names, tensors, self.input_types, strict=True)
        }
        results = self.session.run([o.name for o in self.outputs], feed)
        return join_outputs([torch.from_numpy(np.asarray(out)) for out in results])

    def _run_bound(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """Device pointers in and out: no copy through the host."""
        binding = self.session.io_binding()
        index = self.device.index or 0
        held = [  # alive until the run has read them
            (t.double() if kind == np.float64 else t.float()).contiguous()
            for t, kind in zip(tensors, self.input_types, strict=True)
        ]
        for name, t, kind in zip(self.input_names, held, self.input_types, strict=True):
            binding.bind_input(name, "cuda", index, kind, tuple(t.shape), t.data_ptr())
        results: list[torch.Tensor | None] = []
        for output in self.outputs:
            if all(isinstance(d, int) for d in output.shape[1:]):
                out = torch.empty(
                    [len(tensors[0]), *output.shape[1:]], dtype=torch.float32, device=self.device
                )
                binding.bind_output(output.name, "cuda", index, np.float32, tuple(out.shape), out.data_ptr())
                results.append(out)
            else:  # a symbolic dimension: onnxruntime allocates the output, read back below
                binding.bind_output(output.name, "cuda", index)
                results.append(None)
        self.session.run_with_iobinding(binding)  # returns once its stream is done
        host = binding.copy_outputs_to_cpu() if None in results else []  # every output, in order
        return [
            out if out is not None else torch.from_numpy(np.asarray(host[k])).to(self.device)
            for k, out in enumerate(results)
        ]

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        """Run once at each batch size: onnxruntime allocates its buffers, and on CUDA cuDNN
        searches its convolution algorithms, on the first run of a shape, not on a live frame."""
        assert self.example, "warming up needs an example"
        first, *shared = (x.to(self.device) for x in self.example)
        for size in sorted({1} if self.per_item else set(batch_sizes)):
            self(first.expand(size, *first.shape[1:]).contiguous(), *shared)
