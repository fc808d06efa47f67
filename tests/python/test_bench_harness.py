"""The benchmark harness's own logic (bench/run.py), with the timing and machine probes replaced: which
attempt of a case `make bench` keeps when the host starves it. No timing is asserted here."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import run as bench_run  # noqa: E402


def fake_machine(monkeypatch, attempts):
    """Each time_case call returns the next (cores, load) of `attempts` as its probes; returns the calls."""
    calls = []

    def time_case(path, threads, runs, warmup, pause, check):
        cores, load = attempts[len(calls)]
        calls.append((cores, load))
        return {"stats": {"secateur": {"median": float(len(calls))}}, "load": load}

    monkeypatch.setattr(bench_run, "time_case", time_case)
    probes = []

    def cores_available(binary_dir, threads, one_core):  # probed just before and just after each attempt
        probes.append(None)
        return attempts[(len(probes) - 1) // 2][0]

    monkeypatch.setattr(bench_run, "cores_available", cores_available)
    monkeypatch.setattr(bench_run, "mem_gbs", lambda binary_dir, threads: 40.0)
    monkeypatch.setattr(bench_run, "xcore_gbs", lambda binary_dir: 70.0)
    monkeypatch.setattr(bench_run.time, "sleep", lambda seconds: None)
    return calls


ARGS = SimpleNamespace(bin=Path("."), runs=3, warmup=0, pause=0.0)


def test_a_fed_case_is_timed_once(monkeypatch):
    calls = fake_machine(monkeypatch, [(1.97, 0.0)])
    r = bench_run.measure_case("m.onnx", 2, ARGS, 115.0, check=False)
    assert len(calls) == 1 and r["attempts"] == 1 and r["cores"] == 1.97


def test_a_starved_case_is_timed_again_and_the_fed_attempt_kept(monkeypatch):
    # One core's worth at 2 threads, then a busy neighbour, then a fed attempt: the third is kept.
    calls = fake_machine(monkeypatch, [(1.05, 0.0), (1.95, 0.6), (1.96, 0.0)])
    r = bench_run.measure_case("m.onnx", 2, ARGS, 115.0, check=False)
    assert len(calls) == 3 and r["attempts"] == 3
    assert r["stats"]["secateur"]["median"] == 3.0 and r["cores"] == 1.96 and r["load"] == 0.0


def test_retries_stop_at_the_limit_keeping_the_least_starved(monkeypatch):
    calls = fake_machine(monkeypatch, [(1.05, 0.0), (1.40, 0.0), (1.10, 0.0), (1.9, 0.0)])
    r = bench_run.measure_case("m.onnx", 2, ARGS, 115.0, check=False)
    assert len(calls) == 1 + bench_run.RETRIES
    assert r["cores"] == 1.40 and r["stats"]["secateur"]["median"] == 2.0
