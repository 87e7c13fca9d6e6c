"""H.264 for the recorder: RTP payloads to an Annex-B access unit, the size from the SPS.

The payloads are depacketized as RFC 6184 says (single NAL unit, STAP-A, FU-A:
``aiortc.codecs.h264.H264PayloadDescriptor.parse``) into one Annex-B access unit,
start codes included, as the encoder produced it. Nothing is decoded: the picture
size comes from the sequence parameter set's fields, and the SPS and PPS of the
first keyframe become the stream's extradata (the Matroska muxer turns them into
its ``avcC``).
"""

from __future__ import annotations

from aiortc.codecs.h264 import H264PayloadDescriptor

_SPS, _PPS = 7, 8
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def h264_access_unit(payloads: tuple[bytes, ...]) -> bytes:
    """The Annex-B access unit carried by these RTP payloads."""
    return b"".join(H264PayloadDescriptor.parse(p)[1] for p in payloads)


def nal_units(access_unit: bytes) -> list[bytes]:
    """The NAL units of an Annex-B access unit (start codes removed)."""
    units = []
    for chunk in access_unit.split(b"\x00\x00\x01"):
        chunk = chunk.rstrip(b"\x00")  # the leading zero of a 4-byte start code
        if chunk:
            units.append(chunk)
    return units


def parameter_sets(access_unit: bytes) -> bytes | None:
    """The SPS and PPS of a keyframe, as Annex-B (None if either is missing)."""
    units = nal_units(access_unit)
    sps = [u for u in units if u[0] & 0x1F == _SPS]
    pps = [u for u in units if u[0] & 0x1F == _PPS]
    if not sps or not pps:
        return None
    return b"".join(b"\x00\x00\x00\x01" + u for u in sps[:1] + pps[:1])


def h264_size(access_unit: bytes) -> tuple[int, int] | None:
    """(width, height) from the access unit's SPS; None without one (or a broken one)."""
    sps = next((u for u in nal_units(access_unit) if u[0] & 0x1F == _SPS), None)
    if sps is None:
        return None
    try:
        return _sps_size(_unescape(sps[1:]))
    except IndexError:
        return None


def _unescape(rbsp: bytes) -> bytes:
    return rbsp.replace(b"\x00\x00\x03", b"\x00\x00")


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3]
        value = (byte >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _sps_size(rbsp: bytes) -> tuple[int, int]:
    b = _Bits(rbsp)
    profile = b.bits(8)
    b.bits(16)  # constraint flags, level
    b.ue()  # seq_parameter_set_id
    chroma = 1
    if profile in _HIGH_PROFILES:
        chroma = b.ue()
        if chroma == 3:
            b.bit()  # separate_colour_plane_flag
        b.ue()  # bit_depth_luma
        b.ue()  # bit_depth_chroma
        b.bit()  # qpprime_y_zero_transform_bypass
        if b.bit():  # seq_scaling_matrix_present
            for i in range(8 if chroma != 3 else 12):
                if b.bit():
                    _skip_scaling_list(b, 16 if i < 6 else 64)
    b.ue()  # log2_max_frame_num
    poc_type = b.ue()
    if poc_type == 0:
        b.ue()
    elif poc_type == 1:
        b.bit()
        b.se()
        b.se()
        for _ in range(b.ue()):
            b.se()
    b.ue()  # max_num_ref_frames
    b.bit()  # gaps_in_frame_num_allowed
    width_mbs = b.ue() + 1
    height_units = b.ue() + 1
    frame_mbs_only = b.bit()
    if not frame_mbs_only:
        b.bit()  # mb_adaptive_frame_field
    b.bit()  # direct_8x8_inference
    width, height = width_mbs * 16, height_units * 16 * (2 - frame_mbs_only)
    if b.bit():  # frame_cropping
        left, right, top, bottom = b.ue(), b.ue(), b.ue(), b.ue()
        crop_x = 2 if chroma in (1, 2) else 1
        crop_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
        width -= (left + right) * crop_x
        height -= (top + bottom) * crop_y
    return width, height


def _skip_scaling_list(b: _Bits, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + b.se() + 256) % 256
        last = last if nxt == 0 else nxt
