"""The MP4/MOV header reader: real ffmpeg-made files of both containers and layouts, a 150 MB file with
moov at the end, and properties over generated box structures (and hostile bytes)."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.sample_media import grow_mdat, top_level_boxes
from lib.media.movie_header import BrokenMovie, MovieInfo, NotMovie, read_movie
from lib.media.reads import RangedReader
from tests.media_files import GOOD, counting, make_media
from tests.movie_boxes import box, ftyp, movie


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_media(tmp_path_factory)


def measure(data: bytes) -> tuple[MovieInfo, RangedReader]:
    read, _ = counting(data)
    reader = RangedReader(read, len(data))
    return read_movie(reader.read, reader.size), reader


@pytest.mark.parametrize("name", sorted(GOOD))
def test_real_files_of_each_container_layout_and_orientation(name: str, media_files: dict[str, Path]) -> None:
    data = media_files[name].read_bytes()
    layout = [kind for kind, _, _ in top_level_boxes(data)]
    assert (layout.index(b"moov") < layout.index(b"mdat")) == ("-fast." in name)
    info, reader = measure(data)
    assert info.container == name.rsplit(".", 1)[1]
    assert info.duration == pytest.approx(4.0, abs=0.01)
    expected = (1920, 1080) if name.startswith("landscape") else (1080, 1920)
    assert (info.width, info.height) == expected
    assert reader.requests <= 2  # small files: the first block, then moov's block if it is past it


@pytest.mark.parametrize(
    ("name", "duration", "size"),
    [
        ("long-12s.mp4", 12.0, (1920, 1080)),
        ("short-2s.mov", 2.0, (1920, 1080)),
        ("square.mp4", 4.0, (1080, 1080)),
        ("720p.mp4", 4.0, (1280, 720)),
        ("1440p.mov", 4.0, (2560, 1440)),
        ("four-three.mp4", 4.0, (1440, 1080)),
    ],
)
def test_real_files_that_break_a_rule_are_measured(
    name: str, duration: float, size: tuple[int, int], media_files: dict[str, Path]
) -> None:
    info, _ = measure(media_files[name].read_bytes())
    assert info.duration == pytest.approx(duration, abs=0.01)
    assert (info.width, info.height) == size


def test_a_quarter_turned_track_is_measured_as_displayed(media_files: dict[str, Path]) -> None:
    info, _ = measure(media_files["rotated-90.mp4"].read_bytes())
    assert (info.width, info.height, info.rotation) == (1080, 1920, 90)


def test_an_audio_track_before_the_video_track_is_skipped(media_files: dict[str, Path]) -> None:
    info, _ = measure(media_files["with-audio-8s.mov"].read_bytes())
    assert info.container == "mov" and (info.width, info.height) == (1920, 1080)
    assert info.duration is not None and 7.9 < info.duration < 8.1


def test_matroska_named_mp4_is_not_a_movie(media_files: dict[str, Path]) -> None:
    with pytest.raises(NotMovie, match="Matroska/WebM"):
        measure(media_files["matroska.mp4"].read_bytes())


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "too short"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG image"),
        (b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 20, "AVI"),
        (b"<html><body>not found</body></html>", "text or HTML"),
        (ftyp(b"heic", b"mif1") + b"\x00" * 16, "brand 'heic'"),
    ],
)
def test_other_content_is_named(data: bytes, said: str) -> None:
    with pytest.raises(NotMovie, match=said):
        read_movie(counting(data)[0], len(data))


def test_a_file_without_moov_is_broken() -> None:
    data = ftyp(b"isom", b"isom") + box(b"mdat", b"\x00" * 100)
    with pytest.raises(BrokenMovie, match="no moov"):
        read_movie(counting(data)[0], len(data))


def test_a_box_claiming_more_than_the_file_is_broken() -> None:
    data = movie()[:-10]  # moov (last) cut short
    with pytest.raises(BrokenMovie, match="claims"):
        read_movie(counting(data)[0], len(data))


def test_150_mb_with_moov_at_the_end_costs_a_few_small_reads(
    media_files: dict[str, Path], tmp_path: Path
) -> None:
    big = grow_mdat(media_files["landscape-last.mp4"].read_bytes(), 150 * 1024 * 1024, tmp_path / "big.mp4")
    assert big.stat().st_size == 150 * 1024 * 1024
    with big.open("rb") as handle:

        def read(start: int, length: int) -> bytes:
            handle.seek(start)
            return handle.read(length)

        reader = RangedReader(read, big.stat().st_size)
        info = read_movie(reader.read, reader.size)
    assert info.duration == pytest.approx(4.0, abs=0.01) and (info.width, info.height) == (1920, 1080)
    assert info.moov_offset is not None and info.moov_offset > 149 * 1024 * 1024
    assert reader.requests <= 3
    assert reader.bytes_read <= 2 * 1024 * 1024


# --------------------------------------------------------------------------- properties

_layouts = st.fixed_dictionaries(
    {
        "brand": st.sampled_from([b"isom", b"mp42", b"qt  ", b"avc1"]),
        "timescale": st.integers(1, 2**32 - 1),
        "duration": st.integers(1, 2**32 - 2),
        "width": st.integers(1, 8192),
        "height": st.integers(1, 8192),
        "rotation": st.sampled_from([0, 90, 180, 270]),
        "version": st.sampled_from([0, 1]),
        "moov_first": st.booleans(),
        "mdat_payload": st.binary(max_size=300),
        "large_mdat": st.booleans(),
        "audio_first": st.booleans(),
    }
)


@given(_layouts)
@settings(max_examples=300, deadline=None)
def test_generated_movies_read_back_their_values(layout: dict[str, object]) -> None:
    data = movie(**layout)  # type: ignore[arg-type]
    info, _ = measure(data)
    assert info.container == ("mov" if layout["brand"] == b"qt  " else "mp4")
    assert info.duration == layout["duration"] / layout["timescale"]  # type: ignore[operator]
    turned = layout["rotation"] in (90, 270)
    width, height = layout["width"], layout["height"]
    assert (info.width, info.height) == ((height, width) if turned else (width, height))
    assert info.rotation == layout["rotation"]


@given(
    st.integers(0, 2**40),  # bytes of mdat before moov: up to a terabyte, never held anywhere
    st.sampled_from([0, 1]),
)
@settings(max_examples=100, deadline=None)
def test_reads_stay_few_and_small_whatever_the_mdat_size(padding: int, version: int) -> None:
    head = ftyp(b"isom", b"isom", b"iso2")  # as movie() writes it
    large = padding + 16 >= 2**32
    mdat_size = (16 if large else 8) + padding
    mdat_header = (
        struct.pack(">I4sQ", 1, b"mdat", mdat_size) if large else struct.pack(">I4s", mdat_size, b"mdat")
    )
    moov = movie(version=version, moov_first=True)[len(head) :]
    moov = moov[: int.from_bytes(moov[:4], "big")]
    moov_at = len(head) + mdat_size
    size = moov_at + len(moov)

    def read(start: int, length: int) -> bytes:
        out = bytearray()
        for offset in range(start, min(size, start + length)):
            if offset < len(head):
                out.append(head[offset])
            elif offset < len(head) + len(mdat_header):
                out.append(mdat_header[offset - len(head)])
            elif offset >= moov_at:
                out.append(moov[offset - moov_at])
            else:
                out.append(0)
            if len(out) > 256 * 1024:
                raise AssertionError("a read larger than a header read")
        return bytes(out)

    reader = RangedReader(read, size, block=4096)
    info = read_movie(reader.read, size)
    assert info.moov_offset == moov_at and (info.width, info.height) == (1920, 1080)
    assert reader.requests <= 3


@given(st.binary(max_size=2048))
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hostile_bytes_never_escape_as_anything_but_a_verdict(data: bytes) -> None:
    with contextlib.suppress(NotMovie, BrokenMovie):
        read_movie(counting(data)[0], len(data))


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_movies_never_escape_as_anything_but_a_verdict(data: st.DataObject) -> None:
    original = bytearray(movie(moov_first=data.draw(st.booleans()), audio_first=True))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    mutated = bytes(original[:cut])
    try:
        info = read_movie(counting(mutated)[0], len(mutated))
    except (NotMovie, BrokenMovie):
        return
    assert info.duration is None or info.duration >= 0
