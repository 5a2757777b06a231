"""lstmzip report: the HTML page (seen in headless Chromium), MultiQC files (read by MultiQC itself), old
archives, damaged ones, and reading nothing but the header, index, block headers and statistics."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lstmzip import pipeline
from lstmzip.report import facts

import browser
from conftest import EXAMPLE, corpus_records, fastq

LSTMZIP = [sys.executable, "-m", "lstmzip"]
GOLDEN_V1 = Path(__file__).parent / "golden" / "v1"
POSITION_PLOTS = ("Coding cost by read position: bits per base", "Coding cost by read position: bits per quality",
                  "Cost per base letter")


def run(*args, cwd=None):
    return subprocess.run([*LSTMZIP, *map(str, args)], capture_output=True, cwd=cwd)


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """A level-2 archive whose networks were trained (the training report is in its header), and a
    level-1 archive of another file."""
    here = tmp_path_factory.mktemp("archives")
    trained = here / "nextseq.fq"
    trained.write_bytes(fastq(corpus_records("nextseq_dropseq", 7000)))  # 680k bases: enough to train
    plain = here / "example.fq"
    plain.write_bytes(EXAMPLE.read_bytes())
    assert run("compress", "-2", trained).returncode == 0
    assert run("compress", "-1", plain).returncode == 0
    return here / "nextseq.lz", here / "example.lz"


def figure_titles(page: str) -> list[str]:
    return re.findall(r'<div class=figure data-title="([^"]*)">', page)


def test_page_per_archive_with_every_part(archives):
    trained, plain = archives
    result = run("report", trained, plain)
    assert result.returncode == 0, result.stderr
    page = trained.with_suffix(".html").read_text()
    described = facts.gather(trained).summary()
    for number in (f"{described['records']:,}", f"{described['archive_bytes']:,}", f"{described['ratio']:,.3f}",
                   f"{described['bits_per_quality']:,.3f}", "3.0", "lstmzip 0.1.0"):
        assert number in page
    assert figure_titles(page) == ["Training loss per epoch", "Bits per symbol with and without each network",
                                   "Bytes per stream, whole archive", "Bytes per stream in each block: nextseq.fq",
                                   *POSITION_PLOTS]
    losses = described["learning"]["qualities"]["losses"]
    assert json.dumps(losses[0]) in page  # the stored per-epoch losses are what is plotted
    assert page.count("* plotly.js v") == 1  # inlined once, offline
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)
    assert f"<code>lstmzip report {trained} {plain}</code>" in page
    assert "example.fq" in plain.with_suffix(".html").read_text()


def test_position_plots_show_the_stored_statistics(archives):
    trained, _ = archives
    stats = facts.gather(trained).members[0].statistics
    # reads of 92-98 bases; a 200 kB archive has room for buckets of 8 positions (exact sums, not means)
    assert stats.positions_per_bucket == 8 and len(stats.qualities_by_position) == 13
    result = run("report", "-o", "-", trained)
    page = result.stdout.decode()
    assert json.dumps(stats.qualities_by_position[:5])[1:-1].replace(" ", "") in page.replace(" ", "")


def test_one_page_for_several_archives(archives, tmp_path):
    out = tmp_path / "both.html"
    assert run("report", "-o", out, *archives).returncode == 0
    page = out.read_text()
    assert "lstmzip report: nextseq.fq, example.fq" in page
    assert figure_titles(page).count("Coding cost by read position: bits per base") == 1
    assert page.count("* plotly.js v") == 1


def test_a_file_of_two_members_gets_one_page_with_a_column_and_trace_each(archives, tmp_path):
    """cat a.lz b.lz: the page shows each member as it would two archives; list --json and the MultiQC
    files give the file's totals."""
    both = tmp_path / "both.lz"
    both.write_bytes(archives[0].read_bytes() + archives[1].read_bytes())
    assert run("report", both).returncode == 0
    page = (tmp_path / "both.html").read_text()
    assert "lstmzip report: nextseq.fq (member 1), example.fq (member 2)" in page
    assert figure_titles(page) == ["Training loss per epoch", "Bits per symbol with and without each network",
                                   "Bytes per stream, whole archive", "Bytes per stream in each block: nextseq.fq (member 1)",
                                   "Bytes per stream in each block: example.fq (member 2)", *POSITION_PLOTS]
    described = facts.gather(both)
    members = [facts.gather(path).members[0] for path in archives]
    for member, alone in zip(described.members, members):
        assert member.statistics == alone.statistics and member.statistics_bytes == alone.statistics_bytes > 0
    (listed,) = json.loads(run("list", "--json", both).stdout)["files"]
    assert listed["statistics_bytes"] == sum(m.statistics_bytes for m in members)
    assert [m["statistics_bytes"] for m in listed["members"]] == [m.statistics_bytes for m in members]
    assert listed["streams"] == {key: sum(m.stream_bytes()[key] for m in members) for key in listed["streams"]}
    assert run("report", "--multiqc", tmp_path / "mq", both).returncode == 0
    streams = json.loads((tmp_path / "mq" / "both.lstmzip_mqc.json").read_text())["data"]
    assert streams == {"both": listed["streams"]}


def test_paired_archive_report_names_both_files(tmp_path):
    ones, twos = corpus_records("ga2_ecoli", 200), corpus_records("ga2_ecoli_2", 200)
    (tmp_path / "s_1.fq").write_bytes(fastq(ones))
    (tmp_path / "s_2.fq").write_bytes(fastq(twos))
    assert run("compress", "-1", "--pair", "s_1.fq", "s_2.fq", cwd=tmp_path).returncode == 0
    assert run("report", "s.lz", cwd=tmp_path).returncode == 0
    page = (tmp_path / "s.html").read_text()
    assert "lstmzip report: s_1.fq + s_2.fq" in page and set(POSITION_PLOTS) <= set(figure_titles(page))


def test_version_1_archive_gets_a_report_without_position_plots(tmp_path):
    archive = tmp_path / "old.lz"
    archive.write_bytes((GOLDEN_V1 / "hiseqx_200.level6_lstm.lz").read_bytes())
    assert run("report", archive).returncode == 0
    page = (tmp_path / "old.html").read_text()
    assert "This archive is of format 1.0 (written by lstmzip 0.1.0), which did not store coding statistics, so " \
           "there are no per-position plots; compress it again with this lstmzip to get them." in page
    assert not set(POSITION_PLOTS) & set(figure_titles(page))
    assert "Bytes per stream, whole archive" in figure_titles(page)


def test_existing_page_needs_force_and_damage_leaves_nothing(archives, tmp_path):
    trained, _ = archives
    out = tmp_path / "r.html"
    out.write_text("mine")
    kept = run("report", "-o", out, trained)
    assert kept.returncode == 1 and out.read_text() == "mine"
    assert kept.stderr.decode() == f"lstmzip: {out}: {out} already exists; use -f to overwrite\n"
    damaged = tmp_path / "damaged.lz"
    data = bytearray(trained.read_bytes())
    data[-60] ^= 1  # in the index
    damaged.write_bytes(bytes(data))
    result = run("report", "-f", "-o", out, damaged)
    assert result.returncode == 1 and out.read_text() == "mine"
    assert result.stderr.decode() == f"lstmzip: {damaged}: archive index is corrupt (checksum mismatch)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.lz", "r.html"]


def test_report_decodes_nothing(archives, monkeypatch, tmp_path):
    """Only the header, index, block headers and statistics are read: every decoder is made to fail."""
    from click.testing import CliRunner

    from lstmzip import cli, coder, names, pipeline, streams

    def no(*args, **kwargs):
        raise AssertionError("report decoded something")

    for module, name in ((pipeline, "decompress_stream"), (coder, "decode"), (names, "decode_names"),
                         (streams, "decode_bases"), (streams, "decode_qualities"), (streams, "decode_lengths")):
        monkeypatch.setattr(module, name, no)
    result = CliRunner().invoke(cli.main, ["report", "-o", str(tmp_path / "r.html"), str(archives[0])])
    assert result.exit_code == 0, result.output
    assert "Training loss per epoch" in (tmp_path / "r.html").read_text()


def test_page_renders_offline_in_chromium(archives, tmp_path):
    """Every plot drawn (its SVG holds the traces' marks), no console error, no request but the page."""
    if browser.chromium() is None:
        if os.environ.get("LSTMZIP_REQUIRE_CHROMIUM"):  # CI installs it: there, its absence is a failure
            pytest.fail("chromium is not installed")
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium package)")
    page = tmp_path / "both.html"
    assert run("report", "-o", page, *archives).returncode == 0
    seen = browser.inspect(page, tmp_path / "both.png")
    assert len(seen["plots"]) == len(figure_titles(page.read_text())) == 8  # 2 per block figures
    for plot in seen["plots"]:
        assert plot["traces"] and plot["drawn"] == plot["traces"] and plot["marks"] >= plot["traces"], plot
    assert seen["errors"] == []
    assert seen["requests"] == [page.resolve().as_uri()]
    assert (tmp_path / "both.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_multiqc_finds_the_lstmzip_section_and_both_samples(archives, tmp_path):
    results = tmp_path / "project"
    assert run("report", "--multiqc", results, *archives).returncode == 0
    assert sorted(p.name for p in results.iterdir()) == [
        "example.lstmzip_general_stats_mqc.json", "example.lstmzip_mqc.json",
        "nextseq.lstmzip_general_stats_mqc.json", "nextseq.lstmzip_mqc.json"]
    out = tmp_path / "multiqc"
    done = subprocess.run([sys.executable, "-m", "multiqc", "--no-version-check", "--no-ansi", "-q", "-o", out,
                           results], capture_output=True)
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "multiqc_data" / "multiqc_data.json").read_text())
    assert data["report_plot_data"]["lstmzip_streams"]["pconfig"]["title"] == "lstmzip: bytes per stream"
    assert '<h2 class="mb-0" id="lstmzip">lstmzip</h2>' in (out / "multiqc_report.html").read_text()  # the section
    streams = data["report_saved_raw_data"]["multiqc_lstmzip_streams"]
    assert set(streams) == {"nextseq", "example"}
    assert streams["nextseq"] == facts.gather(archives[0]).stream_bytes()
    general = data["report_general_stats_data"]["custom_content"]
    assert general["example"]["ratio"] == facts.gather(archives[1]).summary()["ratio"]
    assert set(general) == {"nextseq", "example"}


def test_multiqc_refuses_two_archives_of_one_sample_name(archives, tmp_path):
    other = tmp_path / "nextseq.lz"
    other.write_bytes(archives[0].read_bytes())
    result = run("report", "--multiqc", tmp_path / "mq", archives[0], other)
    assert result.returncode == 2 and not (tmp_path / "mq").exists()


@pytest.mark.parametrize("name", ["ga2_ecoli", "ga2_ecoli_2", "hiseqx_151", "hiseq_phred64_dots", "miseq_n701",
                                  "nextseq_dropseq", "ont_seqkit"])
def test_statistics_cost_at_most_a_thousandth_of_every_corpus_file(name, tmp_path):
    """Checked here on each corpus file's first 10,000 records at level 1 (whole files at the default
    level: docs/FORMAT.md), through both of compress -v's and list --json's numbers."""
    data = fastq(corpus_records(name, 10_000))
    archive = tmp_path / "a.lz"
    with open(archive, "wb") as out:
        result = pipeline.compress_stream(io.BytesIO(data), out, 1, 1)
    listed = facts.gather(archive).summary()
    assert listed["statistics_bytes"] == result.statistics_bytes > 0
    assert listed["archive_bytes"] == result.archive_bytes == archive.stat().st_size
    assert 1000 * result.statistics_bytes <= result.archive_bytes


def test_text_from_a_crafted_header_is_escaped(tmp_path):
    """An archive's stored name is anybody's text: on the page it is text, never markup or script."""
    from conftest import compress_bytes, seal, split_archive

    small = EXAMPLE.read_bytes()[:3000].rsplit(b"\n@", 1)[0] + b"\n"
    payload, models, blocks, statistics, major = split_archive(compress_bytes(small, 1))
    header = json.loads(payload)
    header["name"] = "</script><script>document.title='owned'</script><b>"
    archive = tmp_path / "hostile.lz"
    archive.write_bytes(seal(json.dumps(header).encode(), models, blocks, statistics, major))
    assert run("report", archive).returncode == 0
    page = (tmp_path / "hostile.html").read_text()
    assert "<script>document.title" not in page and "<b>" not in page
    assert "&lt;/script&gt;&lt;script&gt;document.title=&#x27;owned&#x27;&lt;/script&gt;&lt;b&gt;" in page
