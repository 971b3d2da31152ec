"""Video encoding through PyAV (edgecolor.video_encode, behind imageio.VideoWriter): the codec table, the
user's options, odd sizes, lossless FFV1, and the input's audio copied packet for packet."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from edgecolor.choices import VideoCodec
from edgecolor.errors import InputError, OutputError
from edgecolor.imageio import VideoWriter
from edgecolor.video_encode import CODECS, Encoding, count_video_frames, exact_rate, parse_bitrate, probe_source

from helpers import gray_h264_aac_clip, random_bgr


def _streams(path: Path) -> dict[str, tuple]:
    """``type -> (codec, pix_fmt or None, frames counted, average rate or None, duration s)`` of each stream."""
    with av.open(str(path)) as f:
        found = {}
        for s in f.streams:
            found[s.type] = (s.codec_context.name, getattr(s.codec_context, "pix_fmt", None), s.frames,
                             getattr(s, "average_rate", None), float(s.duration * s.time_base) if s.duration else None)
        return found


def _write(path: Path, frames: list[np.ndarray], fps: float = 24.0, **kw) -> VideoWriter:
    writer = VideoWriter(path, fps, **kw)
    for frame in frames:
        writer.write(frame)
    writer.close()
    return writer


@pytest.mark.parametrize("text, bits", [("4M", 4_000_000), ("800k", 800_000), ("2500000", 2_500_000),
                                        ("1.5m", 1_500_000)])
def test_bitrates_parse(text, bits):
    assert parse_bitrate(text) == bits


@pytest.mark.parametrize("text", ["", "fast", "4G", "5", "-1M"])
def test_bad_bitrates_are_refused(text):
    with pytest.raises(InputError, match="--bitrate"):
        parse_bitrate(text)


@pytest.mark.parametrize("fps, rate", [(25.0, Fraction(25)), (30000 / 1001, Fraction(30000, 1001)),
                                       (12.5, Fraction(25, 2)), (24000 / 1001, Fraction(24000, 1001))])
def test_float_rates_become_the_fractions_they_stand_for(fps, rate):
    assert exact_rate(fps) == rate


@pytest.mark.parametrize("name, encoding, says", [
    ("o.webm", Encoding(VideoCodec.H264), "cannot be written in a '.webm' file"),
    ("o.mp4", Encoding(VideoCodec.FFV1), "Name the output o.mkv"),
    ("o.mkv", Encoding(VideoCodec.FFV1, crf=10), "lossless"),
    ("o.mp4", Encoding(crf=20, bitrate=1_000_000), "both given"),
    ("o.mp4", Encoding(crf=60), "out of h264's range"),
    ("o.avi", Encoding(VideoCodec.VP9), "not written in .avi"),
])
def test_impossible_encodings_are_refused_before_any_file_is_made(tmp_path, name, encoding, says):
    with pytest.raises(InputError, match=says):
        VideoWriter(tmp_path / name, 24.0, encoding=encoding)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, codec, pix_fmt", [
    ("o.mp4", "h264", "yuv420p"), ("o.mov", "h264", "yuv420p"), ("o.mkv", "h264", "yuv420p"),
    ("o.webm", "vp9", "yuv420p"),
])
def test_default_codecs_by_container(tmp_path, name, codec, pix_fmt):
    _write(tmp_path / name, [random_bgr(48, 64, k) for k in range(5)], fps=10.0)
    video = _streams(tmp_path / name)["video"]
    assert video[:2] == (codec, pix_fmt) and count_video_frames(tmp_path / name) == 5


@pytest.mark.parametrize("codec, name", [(VideoCodec.HEVC, "o.mp4"), (VideoCodec.AV1, "o.mkv"),
                                         (VideoCodec.MJPEG, "o.mkv")])
def test_every_codec_writes_every_frame(tmp_path, codec, name):
    _write(tmp_path / name, [random_bgr(48, 64, k) for k in range(6)], encoding=Encoding(codec))
    assert count_video_frames(tmp_path / name) == 6
    with av.open(str(tmp_path / name)) as f:
        assert f.streams.video[0].codec_context.name.replace("libdav1d", "av1") == \
            {"hevc": "hevc", "av1": "av1", "mjpeg": "mjpeg"}[codec.value]


def test_ffv1_in_mkv_is_lossless(tmp_path):
    frames = [random_bgr(37, 51, k) for k in range(4)]  # odd sizes too: FFV1 keeps every pixel
    _write(tmp_path / "a.mkv", frames, encoding=Encoding(VideoCodec.FFV1))
    with av.open(str(tmp_path / "a.mkv")) as f:
        back = [frame.to_ndarray(format="bgr24") for frame in f.decode(video=0)]
    assert len(back) == 4 and all(np.array_equal(a, b) for a, b in zip(frames, back, strict=True))


@pytest.mark.parametrize("codec, name, kept", [(VideoCodec.VP9, "o.webm", True), (VideoCodec.FFV1, "o.mkv", True),
                                               (VideoCodec.H264, "o.mp4", False), (VideoCodec.HEVC, "o.mp4", False)])
def test_odd_sizes_are_kept_or_refused_with_the_remedy(tmp_path, codec, name, kept):
    frames = [random_bgr(121, 161, k) for k in range(3)]
    if kept:
        _write(tmp_path / name, frames, encoding=Encoding(codec))
        with av.open(str(tmp_path / name)) as f:
            first = next(f.decode(video=0))
        assert (first.width, first.height) == (161, 121)
        return
    writer = VideoWriter(tmp_path / name, 24.0, encoding=Encoding(codec))
    with pytest.raises(OutputError, match=r"161x121 .* needs an even width and height.*--codec vp9"):
        writer.write(frames[0])
    assert list(tmp_path.iterdir()) == []


def test_the_table_says_which_codecs_take_odd_sizes():
    assert {c for c, spec in CODECS.items() if spec.odd_sizes} == {VideoCodec.VP9, VideoCodec.FFV1, VideoCodec.MJPEG}


def test_crf_and_bitrate_change_the_size(tmp_path):
    frames = [random_bgr(96, 128, k) for k in range(8)]
    sizes = {}
    for label, enc in [("crf10", Encoding(crf=10)), ("crf40", Encoding(crf=40)),
                       ("100k", Encoding(bitrate=100_000))]:
        _write(tmp_path / f"{label}.mp4", frames, encoding=enc)
        sizes[label] = (tmp_path / f"{label}.mp4").stat().st_size
    assert sizes["crf10"] > 2 * sizes["crf40"] and sizes["crf10"] > sizes["100k"]


def test_audio_is_copied_packet_for_packet_with_its_timestamps(tmp_path):
    clip = gray_h264_aac_clip(tmp_path / "clip.mp4")
    with av.open(str(clip)) as reader:
        frames = [f.to_ndarray(format="bgr24") for f in reader.decode(video=0)]
    _write(tmp_path / "out.mp4", frames, fps=24.0, copy_from=clip)

    def audio(path):
        with av.open(str(path)) as f:
            stream = f.streams.audio[0]
            return [(bytes(p), p.pts * p.time_base) for p in f.demux(stream) if p.size]

    assert audio(tmp_path / "out.mp4") == audio(clip)  # the same bytes at the same times: not re-encoded
    got = _streams(tmp_path / "out.mp4")
    assert got["video"][:4] == ("h264", "yuv420p", 48, Fraction(24))


def test_a_source_with_no_audio_and_a_missing_source_copy_nothing(tmp_path):
    _write(tmp_path / "silent.mp4", [random_bgr(48, 64, k) for k in range(3)])
    assert probe_source(tmp_path / "silent.mp4").copy == ()
    assert probe_source(tmp_path / "missing.mp4").copy == ()
    assert probe_source(tmp_path / "silent.mp4").rate == Fraction(24)


def test_a_failing_encoder_is_one_line_and_leaves_no_file(tmp_path, monkeypatch):
    from edgecolor import video_encode

    def full(self, frame, index):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(video_encode.AvEncoder, "write", full)
    writer = VideoWriter(tmp_path / "o.mp4", 24.0)
    for k in range(3):
        writer.write(random_bgr(48, 64, k))
    with pytest.raises(OutputError, match=r"incomplete \(0 of 3 frames\).*No space left on device"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


def _timed_clip(path: Path, times_ms: list[int], size=(64, 48), sar: Fraction | None = None) -> Path:
    """An H.264 clip whose frame ``k`` is shown at ``times_ms[k]`` (a phone's variable frame rate)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        if sar is not None:
            video.codec_context.sample_aspect_ratio = sar
        for k, ms in enumerate(times_ms):
            picture = av.VideoFrame.from_ndarray(random_bgr(size[1], size[0], k), format="bgr24")
            picture.pts, picture.time_base = ms, Fraction(1, 1000)
            out.mux(video.encode(picture))
        out.mux(video.encode(None))
    return path


def _frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as f:
        return [round(float(frame.time), 3) for frame in f.decode(video=0)]


@pytest.mark.parametrize("name", ["o.mp4", "o.mkv", "o.webm"])
def test_a_variable_frame_rate_keeps_every_frame_at_its_time(tmp_path, name):
    # 30 frames/s, a 4 s pause, 30 frames/s again: at a constant rate the frame after the pause came 4 s early
    times = [k * 33 for k in range(10)] + [4300 + k * 33 for k in range(10)]
    clip = _timed_clip(tmp_path / "vfr.mp4", times)
    from edgecolor.imageio import VideoReader

    reader = VideoReader(clip)
    frames = list(reader)
    reader.close()
    _write(tmp_path / name, frames, fps=reader.fps, copy_from=clip)
    assert _frame_times(tmp_path / name) == pytest.approx([t / 1000 for t in times], abs=0.0015)


def test_the_sample_aspect_ratio_is_kept(tmp_path):
    clip = _timed_clip(tmp_path / "dv.mp4", [k * 40 for k in range(4)], size=(72, 48), sar=Fraction(16, 11))
    from edgecolor.imageio import VideoReader

    reader = VideoReader(clip)
    frames = list(reader)
    reader.close()
    _write(tmp_path / "o.mp4", frames, fps=reader.fps, copy_from=clip)
    with av.open(str(tmp_path / "o.mp4")) as f:
        assert f.streams.video[0].sample_aspect_ratio == Fraction(16, 11)


def test_a_rotated_phone_clip_is_written_upright(tmp_path):
    # Rotation metadata (a display matrix) is applied by the reader: the output's pixels are upright and it
    # carries no rotation, so players show it as they showed the input.
    with av.open(str(tmp_path / "rot.mp4"), "w") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.set_display_rotation(90)
        for k in range(3):
            half = np.zeros((48, 64, 3), np.uint8)
            half[:, :32] = 255  # the left half white: at the bottom once turned 90 degrees counter-clockwise
            picture = av.VideoFrame.from_ndarray(half, format="bgr24")
            picture.pts = k
            out.mux(video.encode(picture))
        out.mux(video.encode(None))
    from edgecolor.imageio import VideoReader

    reader = VideoReader(tmp_path / "rot.mp4")
    frames = list(reader)
    reader.close()
    _write(tmp_path / "o.mp4", frames, fps=reader.fps, copy_from=tmp_path / "rot.mp4")
    with av.open(str(tmp_path / "o.mp4")) as f:
        first = next(f.decode(video=0)).to_ndarray(format="bgr24")
    assert first.shape == (64, 48, 3) and first[:28].mean() < 10 and first[36:].mean() > 240


def test_ten_bit_input_is_read_at_its_level(tmp_path):
    with av.open(str(tmp_path / "t10.mkv"), "w") as out:
        # no B-frames: with them, libx265 here leaves the first packets' dts undefined in a clip this short (seen
        # as a pointer-sized number in one run and 0 in the next), which the Matroska muxer may refuse
        video = out.add_stream("libx265", rate=10, options={"x265-params": "log-level=error:bframes=0"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p10le"
        for k in range(2):
            picture = av.VideoFrame(64, 48, "yuv420p10le")
            for plane, level in zip(picture.planes, (600, 512, 512), strict=True):  # luma 600/1023, no chroma
                plane.update(np.full((plane.height, plane.line_size // 2), level, np.uint16).tobytes())
            picture.pts = k
            out.mux(video.encode(picture))
        out.mux(video.encode(None))
    from edgecolor.imageio import VideoReader

    reader = VideoReader(tmp_path / "t10.mkv")
    frames = list(reader)
    reader.close()
    expected = (600 / 4 - 16) * 255 / 219  # limited-range luma 150 (of 255) as full-range gray
    assert len(frames) == 2 and abs(float(frames[0].mean()) - expected) < 2.5
