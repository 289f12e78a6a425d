"""OpenTelemetry tracing: FastAPI's own request spans, httpx and asyncpg instrumentation,
plus helpers to carry trace context through NATS headers so one trace spans producer and
consumer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi.telemetry import TelemetryConfig
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from starlette.types import Scope

log = logging.getLogger(__name__)
_instrumented_libraries = False


def setup_tracing(service_name: str, exporter: str) -> None:
    """Install the process-wide tracer provider (once) and instrument client libraries.

    ``exporter``: ``otlp`` (endpoint from the standard OTEL_EXPORTER_OTLP_* variables),
    ``console``, or ``none`` (spans are still created, so trace context still propagates).
    """
    global _instrumented_libraries
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif exporter == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(provider)
    if not _instrumented_libraries:
        HTTPXClientInstrumentor().instrument()
        AsyncPGInstrumentor().instrument()
        _instrumented_libraries = True


#: Operational endpoints polled every few seconds: no span for them.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def http_telemetry(untraced: Callable[[Scope], bool] | None = None) -> TelemetryConfig:
    """FastAPI's own OpenTelemetry support: a server span per request, continuing the
    caller's ``traceparent``. No spans per dependency and serialisation step (a request's
    worth of spans that cost a tenth of a short read), no OpenTelemetry metrics (the
    services export Prometheus metrics) and no OpenTelemetry logs (they log themselves).
    ``untraced`` may leave out further requests (a service's hot reads)."""
    return TelemetryConfig(
        tracing=True,
        operation_spans=False,
        metrics=False,
        logs=False,
        exclude=lambda scope: (
            scope.get("path") in UNTRACED_PATHS or (untraced is not None and untraced(scope))
        ),
    )


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, or None outside a trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    return propagate.extract({"traceparent": traceparent})


def context_from_headers(headers: Mapping[str, str] | None) -> Context:
    return propagate.extract(dict(headers or {}))


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    propagate.inject(headers)
    return headers
