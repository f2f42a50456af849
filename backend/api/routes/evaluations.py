"""Evaluation of a model on a connection: its evaluation set and its runs (owner only: 404 otherwise)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from backend.deps import ActorDep, CurrentUser, EvaluationServiceDep
from backend.schemas.evaluations import (
    EvaluationImportIn,
    EvaluationImportOut,
    EvaluationRunCreated,
    EvaluationRunDetail,
    EvaluationRunIn,
    EvaluationRunsOut,
    EvaluationSetOut,
)

router = APIRouter(prefix="/connections/{connection_id}", tags=["evaluations"])


@router.get("/evaluation-set", response_model=EvaluationSetOut)
async def get_evaluation_set(
    connection_id: uuid.UUID, user: CurrentUser, service: EvaluationServiceDep
) -> EvaluationSetOut:
    return await service.get_set(user.id, connection_id)


@router.put("/evaluation-set", response_model=EvaluationImportOut)
async def import_evaluation_set(
    connection_id: uuid.UUID, body: EvaluationImportIn, user: CurrentUser, service: EvaluationServiceDep
) -> EvaluationImportOut:
    """Imports questions with their expected query (JSONL or CSV); each query is checked by the
    guard, and refused lines come back with their line number and reason, not stored."""
    return await service.import_set(user.id, connection_id, body)


@router.delete("/evaluation-set", status_code=status.HTTP_204_NO_CONTENT)
async def clear_evaluation_set(connection_id: uuid.UUID, user: CurrentUser, service: EvaluationServiceDep) -> Response:
    await service.clear_set(user.id, connection_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/evaluations", status_code=status.HTTP_202_ACCEPTED, response_model=EvaluationRunCreated)
async def start_evaluation(
    connection_id: uuid.UUID, body: EvaluationRunIn, actor: ActorDep, service: EvaluationServiceDep
) -> EvaluationRunCreated:
    """Starts a run in the background (409 while one of this connection's runs is going; 422
    for a model the LLM server does not list, or an empty source)."""
    return await service.start(actor, connection_id, body)


@router.get("/evaluations", response_model=EvaluationRunsOut)
async def list_evaluations(
    connection_id: uuid.UUID, user: CurrentUser, service: EvaluationServiceDep
) -> EvaluationRunsOut:
    return await service.list_runs(user.id, connection_id)


@router.get("/evaluations/{run_id}", response_model=EvaluationRunDetail)
async def get_evaluation(
    connection_id: uuid.UUID, run_id: uuid.UUID, user: CurrentUser, service: EvaluationServiceDep
) -> EvaluationRunDetail:
    return await service.get_run(user.id, connection_id, run_id)


@router.post("/evaluations/{run_id}/cancel", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_evaluation(
    connection_id: uuid.UUID, run_id: uuid.UUID, user: CurrentUser, service: EvaluationServiceDep
) -> Response:
    """Stops a running run; the questions already scored stay (status ``cancelled``)."""
    await service.cancel_run(user.id, connection_id, run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/evaluations/{run_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_evaluation(
    connection_id: uuid.UUID, run_id: uuid.UUID, user: CurrentUser, service: EvaluationServiceDep
) -> Response:
    """Deletes a run with its results (a running one is stopped first)."""
    await service.delete_run(user.id, connection_id, run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
