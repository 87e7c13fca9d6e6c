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
  ``__rtp_started``/``__rtp_exited``/``__rtcp_started``/``__rtcp_exited`` events
  and cancels the two tasks (done already, for a taken-over sender).
- ``RTCRtpSender._retransmit(seq)``: how it answers a NACK.
- ``RTCRtpSender._send_keyframe()``: what it does on an incoming PLI or FIR
  (in aiortc: set a flag only its own encoder reads).
- ``RTCDtlsTransport._tx_srtp``: the outbound SRTP session; and through
  ``RTCIceTransport._connection`` (aioice ``Connection``) its ``_nominated``
  candidate pair, whose protocol's datagram transport sends the packets.
- ``RTCRtpTransceiver._codecs``: the negotiated codecs, read by
  ``createAnswer()`` and by ``receive()``/``send()``.
- ``RTCPeerConnection.__certificates`` and ``RTCCertificate._create_ssl_context``:
  the DTLS certificate(s) a connection's transports use, and how each makes its
  OpenSSL context.
- ``RTCPeerConnection.__{current,pending}{Local,Remote}Description``: the parsed
  descriptions, read through ``str()`` and ``.type`` by the
  ``localDescription``/``remoteDescription`` getters.

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
import time
import zlib
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple, Protocol

import aiortc
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcdtlstransport import RTCCertificate
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from OpenSSL import SSL

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


class _SetEvent(asyncio.Event):
    """An ``asyncio.Event`` that is set and stays set: ``wait()`` returns at once
    without touching any loop, so one instance serves every sender."""

    def __init__(self) -> None:
        super().__init__()
        super().set()

    def clear(self) -> None:
        raise RuntimeError("a taken-over sender's loop events stay set")


_ALWAYS_SET = _SetEvent()


def take_over_sender(
    sender: RTCRtpSender,
    configure: Callable[[RTCRtpSendParameters], None],
    run: Callable[[RTCRtpCodecParameters], Coroutine[Any, Any, None]],
    retransmit: Callable[[int], Coroutine[Any, Any, None]],
    stopped: Callable[[], None],
) -> None:
    """Replace the sender's RTP loop, its RTCP loop and its NACK answer.

    ``configure`` sees the negotiated send parameters before ``send()`` starts
    ``run`` in place of ``_run_rtp``, so the sender never pulls from a track
    and never creates an encoder; ``run`` sets up and returns (no task stays
    alive per sender). The RTCP loop does nothing: sender reports are sent per
    connection instead (``media.outbound.SenderReports``). ``stop()`` calls
    ``stopped`` first. The four loop events ``stop()`` waits on are one shared,
    always-set event (four ``asyncio.Event`` per sender were 20 % of a
    subscriber's Python heap). Incoming RTCP (receiver reports, NACK, PLI) is
    still routed to the sender.
    """
    for name in ("_run_rtp", "_run_rtcp", "_retransmit", "send", "stop", *_LOOP_EVENTS):
        if not hasattr(sender, name):
            raise RuntimeError(f"RTCRtpSender has no {name}")
    original_send, original_stop = sender.send, sender.stop

    async def send(parameters: RTCRtpSendParameters) -> None:
        configure(parameters)
        await original_send(parameters)

    async def stop() -> None:
        stopped()
        await original_stop()

    for name in _LOOP_EVENTS:
        setattr(sender, name, _ALWAYS_SET)
    sender.send = send  # type: ignore[method-assign]
    sender.stop = stop  # type: ignore[method-assign]
    sender._run_rtp = run  # type: ignore[method-assign,assignment]
    sender._run_rtcp = _no_rtcp  # type: ignore[method-assign]
    sender._retransmit = retransmit  # type: ignore[method-assign,assignment]


async def _no_rtcp() -> None:
    return None


_DESCRIPTIONS = tuple(
    f"_RTCPeerConnection__{state}{side}Description"
    for state in ("current", "pending")
    for side in ("Local", "Remote")
)


class _SdpText:
    """A negotiated description kept as its text, compressed (17 near-identical
    m-lines: 18 KiB of text, 2 KiB compressed): what ``localDescription`` and
    ``remoteDescription`` read (``str()`` and ``type``), with no media sections
    (``addIceCandidate`` then has none to mark)."""

    __slots__ = ("_text", "type")
    media: tuple[()] = ()

    def __init__(self, text: str, type: str) -> None:
        self._text = zlib.compress(text.encode(), 1)
        self.type = type

    def __str__(self) -> str:
        return zlib.decompress(self._text).decode()


def compact_descriptions(pc: RTCPeerConnection) -> None:
    """Keep a connection's negotiated descriptions as text only.

    aiortc keeps them parsed (every m-line's codecs, extensions, SSRCs,
    fingerprints: ~75 KiB for a 17-slot subscriber) for renegotiation, trickled
    candidates and starting the transceivers. Call it once every transceiver
    has started, on a connection that is never renegotiated.
    """
    for name in _DESCRIPTIONS:
        if not hasattr(pc, name):
            raise RuntimeError(f"RTCPeerConnection has no {name}")
        description = getattr(pc, name)
        if description is not None and not isinstance(description, _SdpText):
            setattr(pc, name, _SdpText(str(description), description.type))


_CERTIFICATE_MAX_AGE = 24 * 3600.0  # seconds; aiortc's certificates are valid 30 days
_certificate: list[tuple[float, RTCCertificate]] = []


def share_certificate(pc: RTCPeerConnection) -> None:
    """Give a new connection the process's DTLS certificate and its one SSL context.

    aiortc makes a key pair and a certificate per connection and an OpenSSL
    context per DTLS transport. The SFU shares one of each, as Janus does: the
    remote side only checks the fingerprint the SDP carries. The context keeps
    no session cache (it would grow with every connection) and releases its
    record buffers when idle (after the handshake DTLS carries almost nothing).
    A certificate older than a day is replaced for new connections.
    """
    name = "_RTCPeerConnection__certificates"
    if not hasattr(pc, name):
        raise RuntimeError(f"RTCPeerConnection has no {name}")
    now = time.monotonic()
    if not _certificate or now - _certificate[0][0] > _CERTIFICATE_MAX_AGE:
        _certificate[:] = [(now, _certificate_with_one_context())]
    setattr(pc, name, [_certificate[0][1]])


def _certificate_with_one_context() -> RTCCertificate:
    certificate = RTCCertificate.generateCertificate()
    create = certificate._create_ssl_context
    contexts: dict[tuple[bytes, ...], SSL.Context] = {}

    def shared(srtp_profiles: list[Any]) -> SSL.Context:
        key = tuple(p.openssl_profile for p in srtp_profiles)
        context = contexts.get(key)
        if context is None:
            context = contexts[key] = create(srtp_profiles)
            context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
            context.set_mode(SSL.MODE_RELEASE_BUFFERS)
        return context

    certificate._create_ssl_context = shared  # type: ignore[method-assign]
    return certificate


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
