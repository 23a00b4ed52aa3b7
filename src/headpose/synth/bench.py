"""Synthetic renderer throughput: ``python -m headpose.synth.bench [--images N] [--size S]``.

Prints one JSON line: images/s in one process, and over one process per core (total and per
core). Workers are warmed up first (numba cache, head model, background bank), so the figures are
steady-state rendering speed; ``startup_s`` is the one-off cost of a fresh pool.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, wait
from multiprocessing import get_context

from headpose.synth.config import SynthConfig
from headpose.synth.generate import CHUNK_SIZE, render_chunk


def _timed_chunks(config: SynthConfig, pool: ProcessPoolExecutor | None) -> float:
    chunks = range(math.ceil(config.num_images / CHUNK_SIZE))
    start = time.perf_counter()
    if pool is None:
        for k in chunks:
            render_chunk(config, k)
    else:
        wait([pool.submit(render_chunk, config, k) for k in chunks])
    return time.perf_counter() - start


def benchmark(num_images: int = 2000, image_size: int = 128, seed: int = 0) -> dict:
    """Images/s for ``num_images`` default-config renders at ``image_size``, 1 process and all cores."""
    load = os.getloadavg()[0]  # other work on the machine lowers the figures
    config = SynthConfig(num_images=num_images, image_size=image_size, seed=seed)
    warm = SynthConfig(num_images=8, image_size=image_size, seed=seed)
    render_chunk(warm, 0)
    single = num_images / _timed_chunks(config, None)
    cores = os.cpu_count() or 1
    start = time.perf_counter()
    with ProcessPoolExecutor(cores, mp_context=get_context("spawn")) as pool:
        wait([pool.submit(render_chunk, warm, 0) for _ in range(cores)])
        startup = time.perf_counter() - start
        total = num_images / _timed_chunks(config, pool)
    return {
        "image_size": image_size,
        "images": num_images,
        "single_process_images_per_s": round(single, 1),
        "cores": cores,
        "all_cores_images_per_s": round(total, 1),
        "all_cores_images_per_s_per_core": round(total / cores, 1),
        "startup_s": round(startup, 2),
        "load_average_before": load,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args(argv)
    print(json.dumps(benchmark(args.images, args.size)))


if __name__ == "__main__":
    main()
