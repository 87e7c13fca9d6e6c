"""Typed access to the aiortc 1.16.0 (and aioice 0.13) internals the SFU relies on.

Every private attribute the package touches is named here, and only here, so
an upgrade has one place to check (hence the ``aiortc==1.16.0`` pin):

- ``RTCRtpReceiver._RTCRtpReceiver__jitter_buffer``: the object whose
  ``add(packet) -> (pli_flag, frame)`` the receiver calls for every RTP packet;
  a frame it returns goes to the decoder thread (``rtcrtpreceiver.py``).
- ``RTCRtpReceiver._send_rtcp_pli(ssrc)``: sends a Picture Loss Indication.
- ``RTCRtpReceiver.__remote_bitrate_estimator``/``__nack_generator``: built
  for every video receiver, used only once ``receive()`` runs.
- ``RTCRtpSender._run_rtp(codec)`` and ``_run_rtcp()``: the RTP and RTCP
  loops ``send()`` starts as tasks; ``stop()`` waits on the
  ``__rtp_started``/``__rtp_exited``/``__rtcp_started``/``__rtcp_exited`` events.
- ``RTCRtpSender._retransmit(seq)``: how it answers a NACK.
- ``RTCRtpSender._send_keyframe()``: what it does on an incoming PLI or FIR
  (in aiortc: set a flag only its own encoder reads).
- ``RTCDtlsTransport._tx_srtp``: the outbound SRTP session; and through
  ``RTCIceTransport._connection`` (aioice ``Connection``) its ``_nominated``
  candidate pair, whose protocol's datagram transport sends the packets.
- ``RTCRtpTransceiver._codecs``: the negotiated codecs, read by
  ``createAnswer()`` and by ``receive()``/``send()``.

And of pylibsrtp (aiortc's SRTP, not pinned: checked at import, and
``media.wire`` falls back to the public ``Session.protect`` if it differs):
``pylibsrtp._binding`` (the cffi ``ffi``/``lib``, ``lib.srtp_protect`` taking
``(srtp_t, void *, int *)`` in place) and ``Session._srtp`` (its ``srtp_t *``).
Of asyncio: ``_SelectorDatagramTransport._sock``, the socket itself (its
``get_extra_info("socket")`` wrapper has no ``sendmsg``).
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple, Protocol

import aiortc
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters

from media.types import VideoCodec

AIORTC_VERSION = "1.16.0"

_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_ENCODER = "_RTCRtpSender__encoder"
_RTP_STARTED = "_RTCRtpSender__rtp_started"
_RTP_EXITED = "_RTCRtpSender__rtp_exited"
_RTCP_STARTED = "_RTCRtpSender__rtcp_started"
_RTCP_EXITED = "_RTCRtpSender__rtcp_exited"
_LOOP_EVENTS = (_RTP_STARTED, _RTP_EXITED, _RTCP_STARTED, _RTCP_EXITED)


class JitterBufferLike(Protocol):
    def add(self, packet: Any) -> tuple[bool, None]: ...


def check_version() -> None:
    """Refuse to run on an aiortc whose internals were not checked."""
    if aiortc.__version__ != AIORTC_VERSION:
        raise RuntimeError(
            f"media/ needs aiortc=={AIORTC_VERSION} (private internals), found {aiortc.__version__}"
        )


def replace_jitter_buffer(receiver: RTCRtpReceiver, buffer: JitterBufferLike) -> None:
    if not hasattr(receiver, _JITTER_BUFFER):
        raise RuntimeError("RTCRtpReceiver has no jitter buffer to replace")
    setattr(receiver, _JITTER_BUFFER, buffer)


class _NoPackets:
    """Jitter buffer of a receiver that never receives (a sendonly slot)."""

    def add(self, packet: Any) -> tuple[bool, None]:
        return False, None


_NO_PACKETS = _NoPackets()
# Shared by every never-started receiver: they are only touched by stop() and
# by the decoder thread, neither of which runs for a receiver that never
# received (``__started`` stays false, no decoder thread exists).
_IDLE_RECEIVER_STATE: dict[str, object] = {
    "_RTCRtpReceiver__jitter_buffer": _NO_PACKETS,
    "_RTCRtpReceiver__remote_bitrate_estimator": None,
    "_RTCRtpReceiver__nack_generator": None,
    "_RTCRtpReceiver__decoder_queue": queue.Queue[Any](),
    "_RTCRtpReceiver__decoder_error": threading.Event(),
    "_RTCRtpReceiver__rtcp_started": asyncio.Event(),
    "_RTCRtpReceiver__rtcp_exited": asyncio.Event(),
}


def release_idle_receiver(receiver: RTCRtpReceiver) -> None:
    """Free what a never-started receiver holds: ~100 KiB per video receiver,
    mostly its bitrate estimator's buckets (9 video slots: 0.9 MiB a subscriber),
    and a queue and thread event per receiver."""
    for name, value in _IDLE_RECEIVER_STATE.items():
        if not hasattr(receiver, name):
            raise RuntimeError(f"RTCRtpReceiver has no {name}")
        setattr(receiver, name, value)


def jitter_buffer(receiver: RTCRtpReceiver) -> object:
    return getattr(receiver, _JITTER_BUFFER)


def decoder_queue(receiver: RTCRtpReceiver) -> queue.Queue[Any]:
    """The queue feeding the receiver's decoder thread (tests check it stays empty)."""
    q: queue.Queue[Any] = getattr(receiver, _DECODER_QUEUE)
    return q


def take_over_sender(
    sender: RTCRtpSender,
    configure: Callable[[RTCRtpSendParameters], None],
    run: Callable[[RTCRtpCodecParameters], Coroutine[Any, Any, None]],
    retransmit: Callable[[int], Coroutine[Any, Any, None]],
) -> None:
    """Replace the sender's RTP loop, its RTCP loop and its NACK answer.

    ``configure`` sees the negotiated send parameters before ``send()`` starts
    ``run`` in place of ``_run_rtp``, so the sender never pulls from a track
    and never creates an encoder. Its RTCP loop becomes idle: sender reports
    are sent per connection instead (``media.outbound.SenderReports``).
    Incoming RTCP (receiver reports, NACK, PLI) is still routed to the sender.
    """
    for name in ("_run_rtp", "_run_rtcp", "_retransmit", "send", *_LOOP_EVENTS):
        if not hasattr(sender, name):
            raise RuntimeError(f"RTCRtpSender has no {name}")
    original_send = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        configure(parameters)
        await original_send(parameters)

    async def idle_rtcp() -> None:
        getattr(sender, _RTCP_STARTED).set()
        try:
            await asyncio.Event().wait()  # until stop() cancels it
        except asyncio.CancelledError:
            pass
        finally:
            getattr(sender, _RTCP_EXITED).set()

    sender.send = send  # type: ignore[method-assign]
    sender._run_rtp = run  # type: ignore[method-assign,assignment]
    sender._run_rtcp = idle_rtcp  # type: ignore[method-assign]
    sender._retransmit = retransmit  # type: ignore[method-assign,assignment]


def sender_rtp_started(sender: RTCRtpSender) -> None:
    getattr(sender, _RTP_STARTED).set()


def sender_rtp_exited(sender: RTCRtpSender) -> None:
    getattr(sender, _RTP_EXITED).set()


def srtp_route(sender: RTCRtpSender) -> tuple[Any, Any, tuple[str, int]]:
    """The SRTP session, datagram transport and remote address the sender's
    packets go through; raises ConnectionError if the connection is not up."""
    dtls = sender.transport
    pair = dtls.transport._connection._nominated.get(1)
    udp = getattr(getattr(pair, "protocol", None), "transport", None)
    if dtls.state != "connected" or dtls._tx_srtp is None or pair is None or udp is None:
        raise ConnectionError("sender transport is not connected")
    return dtls._tx_srtp, udp, pair.remote_addr


class SrtpBinding(NamedTuple):
    ffi: Any
    lib: Any


_SRTP_PROTECT_TYPE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"


def srtp_binding() -> SrtpBinding | None:
    """pylibsrtp's cffi binding, if its in-place ``srtp_protect`` is the one checked."""
    try:
        from pylibsrtp._binding import ffi, lib

        if str(ffi.typeof(lib.srtp_protect)).split("'")[1] != _SRTP_PROTECT_TYPE:
            return None
    except (ImportError, AttributeError, IndexError):
        return None
    return SrtpBinding(ffi, lib)


def srtp_context(session: Any) -> Any:
    """The ``srtp_t`` of a ``pylibsrtp.Session``, or None if it has none."""
    holder = getattr(session, "_srtp", None)
    return None if holder is None else holder[0]


def datagram_socket(udp: Any) -> socket.socket | None:
    """The socket behind an asyncio datagram transport (None on uvloop)."""
    sock = getattr(udp, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def enlarge_receive_buffers(receiver: RTCRtpReceiver, size: int) -> None:
    """Ask the kernel for ``size`` bytes of receive buffer on the sockets behind
    ``receiver`` (capped by ``net.core.rmem_max``): a publisher's burst, such as
    a keyframe, must not overflow while the event loop fans out a frame."""
    connection = receiver.transport.transport._connection
    for protocol in connection._protocols:
        sock = protocol.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def sender_encoder(sender: RTCRtpSender) -> object:
    return getattr(sender, _ENCODER)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Route the subscriber's PLI/FIR on this sender to ``callback``."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


_pending: set[asyncio.Task[None]] = set()


def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the publisher of ``media_ssrc`` for a keyframe, without waiting."""
    task = asyncio.get_running_loop().create_task(receiver._send_rtcp_pli(media_ssrc))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def restrict_codecs(transceiver: RTCRtpTransceiver, mime_type: str) -> bool:
    """Keep only ``mime_type`` among the negotiated codecs, without RTX.

    Called between ``setRemoteDescription(offer)`` and ``createAnswer()``, so
    the answer, and the receiver, carry only the codec the SFU forwards.
    RTX is left out on purpose: aiortc's RTP router does not register RTX
    SSRCs and routes unknown SSRCs by payload type only, so with two video
    m-lines (camera and screen) every RTX packet is dropped. Without RTX,
    NACKed packets are resent in the original stream, which aiortc and
    browsers both take. Returns False if the offer did not include the codec.
    """
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    wanted = mime_type.lower()
    keep = [c for c in codecs if c.mimeType.lower() == wanted]
    if keep:
        transceiver._codecs = keep
    return bool(keep)


def codec_mime(kind: str, video_codec: VideoCodec) -> str:
    return f"video/{video_codec}" if kind == "video" else "audio/opus"


def restrict_host_addresses(addresses: list[str] | None) -> None:
    """Gather ICE host candidates only on `addresses` (None: aioice's default, every
    interface but loopback). Process-wide, like the one SFU per process it serves."""
    import aioice.ice

    if addresses is None:
        aioice.ice.get_host_addresses = _AIOICE_DEFAULT
        return
    chosen = list(addresses)

    def only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = only


def _default_host_addresses() -> Callable[..., list[str]]:
    import aioice.ice

    fn: Callable[..., list[str]] = aioice.ice.get_host_addresses
    return fn


_AIOICE_DEFAULT = _default_host_addresses()
