"""``visit-monitor seed``: write a synthetic, obviously fake register (an extension to the CLI contract).

For demos, training and load tests: the files follow the register CSV contract and can
be fed straight to ``visit-monitor import``. It refuses to overwrite existing extract
files unless told to, because the output folder may well be the real import drop folder.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from monitor.cli.app import EXIT_USAGE, fail, get_app

FILES = ("offenders.csv", "visits.csv", "officers.csv", "absences.csv")


@click.command("seed")
@click.option("--people", type=click.IntRange(min=1), default=2000, show_default=True, help="How many people.")
@click.option("--seed", "seed", type=int, default=1, show_default=True, help="Random seed: same seed, same files.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the extract is taken (YYYY-MM-DD; default: today in the configured timezone).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write offenders.csv, visits.csv and officers.csv into.",
)
@click.option("--messy", is_flag=True, help="Write a real-world-style extract (BOM, CRLF, odd spellings, bad rows).")
@click.option(
    "--practice",
    is_flag=True,
    help="Add the practice-quality columns (plan intervals, MAPPA, supervisor reviews, second officers, visit times).",
)
@click.option(
    "--absences",
    is_flag=True,
    help="Also write absences.csv: a few offender managers away, this week and in the weeks around it.",
)
@click.option("--force", is_flag=True, help="Overwrite extract files already in --out.")
@click.pass_context
def command(
    ctx: click.Context,
    people: int,
    seed: int,
    as_of: datetime | None,
    out_dir: Path,
    messy: bool,
    practice: bool,
    absences: bool,
    force: bool,
) -> None:
    """Write a synthetic register (fake people, fake officers) for demos and tests."""
    from monitor.synthetic.generator import generate

    existing = [name for name in FILES if (out_dir / name).exists()]
    if existing and not force:
        raise fail(f"{out_dir} already holds {', '.join(existing)}; use --force to overwrite", EXIT_USAGE)
    day: date
    if as_of is None:
        from monitor.core.clock import today

        day = today(get_app(ctx).config.tz)
    else:
        day = as_of.date()
    counts = generate(people, seed=seed, as_of=day, out_dir=out_dir, messy=messy, practice=practice, absences=absences)
    kind = "messy " if messy else ""
    click.echo(
        f"Wrote a synthetic {kind}register to {out_dir}: {counts['offenders']} offenders, "
        f"{counts['visits']} visits, {counts['officers']} officers"
        + (f", {counts['absences']} absences" if absences else "")
        + f" (seed {seed}, as of {day.isoformat()})."
    )
    if counts["bad_rows"]:
        click.echo(f"{counts['bad_rows']} rows are deliberately bad: import should reject them (exit code 3).")
