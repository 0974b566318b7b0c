"""``tensorrt``: an ONNX file built into a TensorRT plan, run on the current CUDA stream.

Plans are built once with an optimisation profile for batches of 1 to 8 (opt 1), the requested
precision and a timing cache, and kept on disk under a key of everything they depend on: the
ONNX file's SHA-256, the shapes, the precision, the GPU and the TensorRT version. The inputs and
the output are torch tensors whose device pointers TensorRT reads and writes directly.

TensorRT is an optional extra (``pip install -e '.[tensorrt]'``); it cannot be installed on our
test machines, so this module is checked by review and its input ONNX by the onnxruntime
parity tests.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from rtswap.errors import DependencyError, ModelLoadError
from rtswap.runtime import Precision
from rtswap.runtime.base import join_outputs

MAX_BATCH = 8


def _trt() -> Any:
    try:
        import tensorrt
    except ImportError:
        raise DependencyError("--backend tensorrt needs TensorRT: pip install -e '.[tensorrt]'") from None
    return tensorrt


class TensorRTRunner:
    name = "tensorrt"

    def __init__(
        self,
        onnx_path: Path,
        onnx_sha256: str,
        example: Sequence[torch.Tensor],
        device: torch.device,
        precision: Precision,
        plan_dir: Path,
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
        max_batch: int = MAX_BATCH,
        typical_batch: int = 1,
    ) -> None:
        """``example``: one set of inputs (a batch of one, per-identity inputs as the file
        declares them) fixing every shape but the batch; ``inputs``: the graph inputs the call's
        tensors go to (default: the file's order); ``outputs``: the outputs returned (default: the
        first), several joined along the channel axis; ``max_batch``: 1 for a file whose batch is
        fixed at 1 (then run per item); ``typical_batch``: the batch the plan's kernels are tuned for
        (a face's boost² sub-grids)."""
        trt = _trt()
        self.device, self.example, self.max_batch = device, [x.to(device) for x in example], max_batch
        self.typical_batch = min(typical_batch, max_batch)
        self._input_order = list(inputs or [])
        self._logger = trt.Logger(trt.Logger.WARNING)
        shapes = [tuple(x.shape) for x in self.example]
        key = {
            "onnx": onnx_sha256,
            "shapes": shapes,
            "max_batch": max_batch,
            "typical_batch": self.typical_batch,
            "precision": precision,
            "gpu": torch.cuda.get_device_name(device),
            "tensorrt": trt.__version__,
        }
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        plan_path = plan_dir / f"{onnx_path.stem}-{precision}-{digest}.plan"
        if not plan_path.exists():
            _write_atomic(plan_path, self._build(onnx_path, precision, plan_dir / "timing.cache"))
        engine = trt.Runtime(self._logger).deserialize_cuda_engine(plan_path.read_bytes())
        if engine is None:
            raise ModelLoadError(f"{plan_path}: TensorRT cannot load this plan; delete it to rebuild")
        self._engine, self._context = engine, engine.create_execution_context()
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        is_input = [engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names]
        self._inputs = self._input_order or [n for n, i in zip(names, is_input, strict=True) if i]
        self._outputs = list(outputs or [n for n, i in zip(names, is_input, strict=True) if not i][:1])
        for name in [*self._inputs, *self._outputs]:  # the runner feeds and reads float32 only
            if engine.get_tensor_dtype(name) != trt.DataType.FLOAT:
                raise ModelLoadError(
                    f"{onnx_path}: tensor {name!r} is {engine.get_tensor_dtype(name)}, not float32; "
                    "give rtswap the fp32 file (--precision builds the plan in fp16 or bf16)"
                )

    def _build(self, onnx_path: Path, precision: Precision, timing_path: Path) -> bytes:
        trt = _trt()
        builder = trt.Builder(self._logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, self._logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ModelLoadError(f"{onnx_path}: TensorRT cannot parse it ({errors})")
        config = builder.create_builder_config()
        if precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        elif precision == "bf16":
            config.set_flag(trt.BuilderFlag.BF16)
        timing = config.create_timing_cache(timing_path.read_bytes() if timing_path.exists() else b"")
        config.set_timing_cache(timing, ignore_mismatch=False)
        profile = builder.create_optimization_profile()
        first, *shared = self.example
        item = tuple(first.shape[1:])
        batched, *others = self._profile_inputs(network)
        profile.set_shape(batched, (1, *item), (self.typical_batch, *item), (self.max_batch, *item))
        for name, tensor in zip(others, shared, strict=True):
            profile.set_shape(name, *([tuple(tensor.shape)] * 3))
        config.add_optimization_profile(profile)
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise ModelLoadError(f"{onnx_path}: TensorRT could not build a plan (see its log above)")
        _write_atomic(timing_path, bytes(config.get_timing_cache().serialize()))
        return bytes(plan)

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        batch, *shared = inputs
        shared = [x.reshape(e.shape) for x, e in zip(shared, self.example[1:], strict=True)]  # as declared
        step = self.max_batch
        return torch.cat([self._run([batch[i : i + step], *shared]) for i in range(0, len(batch), step)])

    def _run(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        held = [t.float().contiguous() for t in tensors]  # alive until the stream has run
        for name, t in zip(self._inputs, held, strict=True):
            self._context.set_input_shape(name, tuple(t.shape))
            self._context.set_tensor_address(name, t.data_ptr())
        results = []
        for name in self._outputs:
            out = torch.empty(tuple(self._context.get_tensor_shape(name)), device=self.device)
            self._context.set_tensor_address(name, out.data_ptr())
            results.append(out)
        stream = torch.cuda.current_stream(self.device)
        if not self._context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        for t in held:  # the caching allocator must not reuse them before the stream reads them
            t.record_stream(stream)
        return join_outputs(results)

    def _profile_inputs(self, network: Any) -> list[str]:
        """The network's input names in the order the call's tensors come."""
        declared = [network.get_input(i).name for i in range(network.num_inputs)]
        return self._input_order or declared

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        first, *shared = self.example
        for size in sorted(set(batch_sizes)):
            self(first.expand(size, *first.shape[1:]), *shared)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
