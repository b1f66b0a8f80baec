"""The web server: one page to upload or record a voice, pick a target voice and a pitch shift,
and hear the original and the conversion side by side, with their spectrograms.

Routes:
    GET  /                    the page (every asset ships in the package; nothing from a CDN)
    GET  /static/…            its script and style sheet
    GET  /api/voices          the model's voices and the server's limits, as JSON
    POST /api/convert?target=TM1&pitch_shift=0   body: the audio file's bytes → JSON with the
                              conversion as a WAV data URI and both spectrograms as PNG data URIs

Every refusal is JSON `{"error": "…"}` with a 4xx status (503 when busy), never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..api import VoiceConverter, as_mono
from ..errors import VaeganError
from ..media import mel_data_uri, wav_data_uri
from ..pitch import MAX_SHIFT
from .pool import Busy, ConversionPool
from .uploads import Limits, UploadRefused, decode_upload

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
DRAIN_FACTOR = 4


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class ConvertService:
    """The model (loaded once), the limits and the pool behind the routes."""

    def __init__(self, vc: VoiceConverter, model_name: str, limits: Limits, pool: ConversionPool):
        self.vc, self.model_name, self.limits, self.pool = vc, model_name, limits, pool

    def voices(self) -> dict:
        return {"model": self.model_name, "voices": self.vc.speakers, "pitch_aware": bool(self.vc.loaded.model.cfg.pitch),
                "max_pitch_shift": MAX_SHIFT, "max_upload_mb": self.limits.max_bytes / 2**20,
                "max_seconds": self.limits.max_seconds, "sample_rate": self.vc.sample_rate}

    def parse_query(self, request: Request) -> tuple[str, float]:
        target = request.query_params.get("target", "")
        if target not in self.vc.speakers:
            raise UploadRefused(400, f"unknown voice '{target}' (this model has: {', '.join(self.vc.speakers)})")
        try:
            shift = float(request.query_params.get("pitch_shift", "0"))
        except ValueError:
            raise UploadRefused(400, "pitch_shift must be a number of semitones") from None
        if not math.isfinite(shift) or abs(shift) > MAX_SHIFT:
            raise UploadRefused(400, f"pitch_shift must be between -{MAX_SHIFT} and {MAX_SHIFT} semitones")
        if shift and not self.vc.loaded.model.cfg.pitch:
            raise UploadRefused(400, "this model has no pitch path, so it cannot shift pitch")
        return target, shift

    async def read_body(self, request: Request) -> bytes:
        """The request body, refused with 413 past the size limit. An over-size body is read on and
        discarded (up to DRAIN_FACTOR × the limit, never kept) so that the client gets the answer
        instead of a connection reset while it is still sending."""
        declared = request.headers.get("content-length")
        too_big = bool(declared and declared.isdigit() and int(declared) > self.limits.max_bytes)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            too_big = too_big or size > self.limits.max_bytes
            if too_big:
                chunks.clear()
                if size > DRAIN_FACTOR * self.limits.max_bytes:
                    break
                continue
            chunks.append(chunk)
        if too_big:
            raise UploadRefused(413, f"the upload is larger than this server's limit of {self.limits.max_bytes / 2**20:g} MB")
        return b"".join(chunks)

    def convert(self, data: bytes, target: str, shift: float) -> dict:
        """Runs on a worker thread: decode, convert, render. Bad audio raises UploadRefused."""
        start = time.perf_counter()
        wav, sr = decode_upload(data, self.limits)
        try:
            mono = as_mono(wav, sr)
            # Resampled once: the conversion and the source's spectrogram both use it.
            source = self.vc.resampled(mono, sr)
            out, out_sr = self.vc.convert(source, self.vc.sample_rate, target=target, pitch_shift=shift)
        except VaeganError as exc:
            raise UploadRefused(422, str(exc)) from None
        features = self.vc.loaded.features
        return {
            "target": target, "pitch_shift": shift, "sample_rate": out_sr,
            "input_seconds": round(len(mono) / sr, 3), "output_seconds": round(len(out) / out_sr, 3),
            "audio": wav_data_uri(out, out_sr),
            "source_spectrogram": mel_data_uri(source, features, "original"),
            "converted_spectrogram": mel_data_uri(out, features, f"converted → {target}"),
            "seconds": round(time.perf_counter() - start, 3),
        }

    async def handle_convert(self, request: Request) -> Response:
        try:
            with self.pool.slot():
                target, shift = self.parse_query(request)
                data = await self.read_body(request)
                return JSONResponse(await self.pool.run(self.convert, data, target, shift))
        except Busy:
            return JSONResponse({"error": "the server is busy converting; try again in a few seconds"},
                                status_code=503, headers={"Retry-After": "5"})
        except UploadRefused as exc:
            return _error(exc.status, exc.message)
        except ClientDisconnect:
            log.info("client left during the upload; nothing converted")
            return Response(status_code=400)
        except Exception:  # a bug, not the user's input: log it, answer without a traceback
            log.exception("conversion failed")
            return _error(500, "the conversion failed on the server; see its log")


def create_app(vc: VoiceConverter, model_name: str = "", limits: Limits = Limits(), workers: int = 1,
               queue: int = 4) -> Starlette:
    """The Starlette application around a loaded VoiceConverter."""
    service = ConvertService(vc, model_name or str(vc.loaded.path), limits, ConversionPool(workers, queue))

    async def page(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    async def voices(_: Request) -> Response:
        return JSONResponse(service.voices())

    routes = [
        Route("/", page),
        Route("/api/voices", voices),
        Route("/api/convert", service.handle_convert, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette):
        yield
        service.pool.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app


def serve(vc: VoiceConverter, model_name: str, host: str = "127.0.0.1", port: int = 8000, limits: Limits = Limits(),
          workers: int = 1, queue: int = 4) -> None:
    """Run the server until interrupted (uvicorn, one process; conversions on the worker threads)."""
    import uvicorn

    app = create_app(vc, model_name, limits, workers, queue)
    uvicorn.run(app, host=host, port=port, log_level="info")
