"""``archlab odt ...``: the memory model of sparse-update schemes, and the pretrain stage."""

from __future__ import annotations

import json

import typer

from archlab.cli._util import fail

app = typer.Typer(help="On-device training: memory model of sparse updates, pretraining.",
                  no_args_is_help=True)


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        fail(f"--{what}: expected comma-separated integers, got {text!r}")


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        fail(f"--{what}: expected comma-separated numbers, got {text!r}")


@app.command("memory")
def memory(
    model: str = typer.Option("mbv2-w0.35", "--model", help="mbv2-w0.35 | mcunet-5fps | proxyless-w0.3"),
    n_bias: int = typer.Option(..., "--n-bias", help="trailing convs whose bias is updated"),
    weights: str = typer.Option("", "--weights", help="conv indices whose weights are updated, e.g. 27,30,33"),
    ratios: str = typer.Option("", "--ratios", help="channel ratio per listed conv, e.g. 1,1,0.5"),
    resolution: int = typer.Option(128, "--resolution", help="input resolution"),
    engine: bool = typer.Option(False, "--schedule", help="also print the schedule-level peak-SRAM model"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Analytic extra memory (KiB = 1024 B, batch 1) of a sparse-update scheme."""
    from archlab.ondevice.arch import MODELS, arch
    from archlab.ondevice.memory import extra_memory, schedule_peak, train_macs
    from archlab.ondevice.sparse import Scheme, SchemeError

    if model not in MODELS:
        fail(f"--model: unknown model {model!r}; allowed: {', '.join(MODELS)}")
    try:
        a = arch(model, resolution=resolution)
        scheme = Scheme(n_bias, _ints(weights, "weights"), _floats(ratios, "ratios"))
        out = extra_memory(a, scheme)
    except (SchemeError, ValueError) as e:
        fail(str(e))
    out["train_macs"] = train_macs(a, scheme)
    if engine:
        out["schedule_peak_kb"] = {e: schedule_peak(a, scheme, e)["peak_B"] / 1024 for e in ("framework", "tte")}
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    b = out["breakdown_kb"]
    typer.echo(f"{model} @ {resolution}px, scheme {scheme.label()}: extra memory {out['extra_memory_kb']:.2f} KiB")
    for k, v in b.items():
        typer.echo(f"  {k:18s} {v:9.2f} KiB")


@app.command("pretrain")
def pretrain_cmd(smoke: bool = typer.Option(False, "--smoke", help="use the smoke overlay")) -> None:
    """Pretrain the backbone on MNIST 0-4 of the offline 5k sample (params odt.pretrain) into data/odt_pretrain/."""
    from archlab.core import params
    from archlab.studies.ondevice.pretrain import ensure_pretrained

    try:
        p = params.load_section("odt", smoke=smoke)
        c = params.load_section("common")
    except params.ParamsError as e:
        fail(str(e))
    info = ensure_pretrained(p.pretrain, c.seed, force=True)
    typer.echo(json.dumps({k: v for k, v in info.items() if k != "net"}, indent=2))
