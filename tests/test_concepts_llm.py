"""LLM object/scene concepts against a real local OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from openai_server import (  # tests/ is on sys.path (rootdir conftest)
    OpenAITestServer,
    RecordedRequest,
    Reply,
    chat_reply,
    error_reply,
    malformed_reply,
    running_openai_server,
)

from dance.concepts.language import LLMQueryError, query_llm_concepts
from dance.config import LanguageConceptConfig

KEY_ENV = "DANCE_TEST_LLM_KEY"
SECRET = "sk-test-5ecret-never-logged-0123456789"
ANSWERS = {
    ("jump rope", "objects"): "Here are some objects:\n- rope\n- Mat\n- sneakers",
    ("jump rope", "scenes"): "1. gym\n2. playground\n3) backyard",
    ("tennis swing", "objects"): "racket, tennis ball, and net.",
    ("tennis swing", "scenes"): "- tennis court\n- Gym",
}


def kind_of(request: RecordedRequest) -> str:
    """'objects' or 'scenes', from which prompt the request carries."""
    return "objects" if "physical objects" in request.last_user_message else "scenes"


def class_of(request: RecordedRequest) -> str:
    """The class named in the request's prompt."""
    prompt = request.last_user_message
    return next(name for name, _ in ANSWERS if name in prompt)


def scripted(request: RecordedRequest) -> Reply:
    """Answers by class and prompt kind (ANSWERS)."""
    answer = ANSWERS[(class_of(request), kind_of(request))]
    return chat_reply(answer)


@pytest.fixture
def server(monkeypatch) -> Iterator[OpenAITestServer]:
    """A running chat-completions server and the API key in the environment."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    with running_openai_server(scripted) as running:
        yield running


def config_for(server: OpenAITestServer, **overrides: object) -> LanguageConceptConfig:
    """Paper settings against the local server, with tiny retry waits."""
    settings: dict[str, object] = {
        "base_url": server.base_url,
        "api_key_env": KEY_ENV,
        "backoff_initial_s": 0.001,
        "backoff_max_s": 0.05,
        "timeout_s": 5.0,
        "max_retries": 3,
    }
    settings.update(overrides)
    return LanguageConceptConfig(**settings)


CLASSES = ["jump rope", "tennis swing"]


def test_two_prompts_per_class_each_sampled_queries_per_class_times(server, tmp_path) -> None:
    query_llm_concepts(CLASSES, config_for(server), str(tmp_path))
    assert server.request_count == 2 * 2 * 2
    body = server.requests[0].body
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-4o", 0.2, 512)
    prompts = sorted({r.last_user_message for r in server.requests})
    assert prompts == sorted(
        LanguageConceptConfig().model_dump()[f"{kind}_prompt"].replace("{action}", name)
        for name in CLASSES
        for kind in ("object", "scene")
    )


def test_answers_are_parsed_and_united_per_class_in_stable_order(server, tmp_path) -> None:
    lists = query_llm_concepts(CLASSES, config_for(server), str(tmp_path))
    assert lists.per_class == {
        "jump rope": {
            "objects": ["rope", "Mat", "sneakers"],
            "scenes": ["gym", "playground", "backyard"],
        },
        "tennis swing": {
            "objects": ["racket", "tennis ball", "net"],
            "scenes": ["tennis court", "Gym"],
        },
    }
    assert lists.objects == ["rope", "Mat", "sneakers", "racket", "tennis ball", "net"]
    assert lists.scenes == ["gym", "playground", "backyard", "tennis court"]


def test_samples_of_one_prompt_are_united_without_case_repeats(server, tmp_path) -> None:
    samples = iter(["- rope\n- mat", "- Rope\n- handles"] * 2)
    server.responder = lambda request: chat_reply(next(samples))
    lists = query_llm_concepts(["jump rope"], config_for(server, concurrency=1), str(tmp_path))
    assert lists.per_class["jump rope"]["objects"] == ["rope", "mat", "handles"]


def test_an_empty_answer_gives_a_class_no_concepts(server, tmp_path) -> None:
    server.responder = lambda request: chat_reply("")
    lists = query_llm_concepts(["jump rope"], config_for(server), str(tmp_path))
    assert lists.per_class == {"jump rope": {"objects": [], "scenes": []}}
    assert (lists.objects, lists.scenes) == ([], [])


def test_a_rerun_reads_the_cache_and_sends_zero_requests(server, tmp_path) -> None:
    first = query_llm_concepts(CLASSES, config_for(server), str(tmp_path))
    sent = server.request_count
    second = query_llm_concepts(CLASSES, config_for(server), str(tmp_path))
    assert server.request_count == sent
    assert second == first


def test_the_answer_cache_also_lives_on_s3(server, s3_bucket) -> None:
    cache_dir = f"{s3_bucket}/concepts/language/raw"
    first = query_llm_concepts(["jump rope"], config_for(server), cache_dir)
    sent = server.request_count
    assert query_llm_concepts(["jump rope"], config_for(server), cache_dir) == first
    assert server.request_count == sent == 4


def test_a_full_cache_needs_no_api_key(server, tmp_path, monkeypatch) -> None:
    first = query_llm_concepts(CLASSES, config_for(server), str(tmp_path))
    monkeypatch.delenv(KEY_ENV)
    assert query_llm_concepts(CLASSES, config_for(server), str(tmp_path)) == first


def test_another_model_or_temperature_is_not_served_from_the_cache(server, tmp_path) -> None:
    query_llm_concepts(["jump rope"], config_for(server), str(tmp_path))
    query_llm_concepts(["jump rope"], config_for(server, temperature=0.7), str(tmp_path))
    query_llm_concepts(["jump rope"], config_for(server, model="other"), str(tmp_path))
    assert server.request_count == 3 * 4


def test_a_failed_run_keeps_finished_answers_and_a_rerun_asks_only_the_rest(
    server, tmp_path
) -> None:
    server.responder = lambda r: (
        error_reply(500, "down") if class_of(r) == "tennis swing" else scripted(r)
    )
    with pytest.raises(LLMQueryError):
        query_llm_concepts(CLASSES, config_for(server, concurrency=1), str(tmp_path))
    server.responder = scripted
    before = server.request_count
    query_llm_concepts(CLASSES, config_for(server), str(tmp_path))
    asked = {class_of(r) for r in server.requests[before:]}
    assert asked == {"tennis swing"}


def test_a_429_is_retried_after_its_retry_after_wait(server, tmp_path) -> None:
    server.queue(error_reply(429, "rate limited", retry_after="0.3"))
    config = config_for(server, concurrency=1, queries_per_class=1, backoff_max_s=2.0)
    start = time.monotonic()
    lists = query_llm_concepts(["jump rope"], config, str(tmp_path))
    assert time.monotonic() - start >= 0.3
    assert server.request_count == 3  # the 429, its retry, the scene prompt
    assert lists.per_class["jump rope"]["objects"] == ["rope", "Mat", "sneakers"]


def test_a_long_retry_after_is_capped_by_backoff_max(server, tmp_path) -> None:
    server.queue(error_reply(429, "rate limited", retry_after="120"))
    config = config_for(server, concurrency=1, queries_per_class=1, backoff_max_s=0.05)
    start = time.monotonic()
    query_llm_concepts(["jump rope"], config, str(tmp_path))
    assert time.monotonic() - start < 5.0


def test_a_500_storm_ends_in_an_error_naming_endpoint_and_class(server, tmp_path) -> None:
    server.responder = lambda request: error_reply(500, "internal error")
    config = config_for(server, concurrency=1, queries_per_class=1, max_retries=3)
    start = time.monotonic()
    with pytest.raises(LLMQueryError) as failure:
        query_llm_concepts(["jump rope"], config, str(tmp_path))
    assert time.monotonic() - start < 5.0
    assert server.request_count == 4  # 1 try + 3 retries, then no further request is sent
    message = str(failure.value)
    assert server.base_url in message and "'jump rope'" in message
    assert "after 4 tries" in message and "HTTP 500" in message


def test_a_malformed_json_body_is_retried(server, tmp_path) -> None:
    server.queue(malformed_reply())
    config = config_for(server, concurrency=1, queries_per_class=1)
    lists = query_llm_concepts(["jump rope"], config, str(tmp_path))
    assert server.request_count == 3
    assert lists.per_class["jump rope"]["objects"] == ["rope", "Mat", "sneakers"]


def test_malformed_bodies_until_the_last_try_give_a_clear_error(server, tmp_path) -> None:
    server.responder = lambda request: malformed_reply()
    config = config_for(server, concurrency=1, queries_per_class=1, max_retries=1)
    with pytest.raises(LLMQueryError, match="malformed response body"):
        query_llm_concepts(["jump rope"], config, str(tmp_path))


def test_an_auth_failure_is_not_retried_and_names_the_key_variable(server, tmp_path) -> None:
    server.responder = lambda request: error_reply(401, "invalid api key")
    config = config_for(server, concurrency=1, queries_per_class=1)
    with pytest.raises(LLMQueryError, match=f"HTTP 401.*\\${KEY_ENV}"):
        query_llm_concepts(["jump rope"], config, str(tmp_path))
    assert server.request_count == 1


def test_a_missing_api_key_fails_before_any_request(server, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(LLMQueryError, match=KEY_ENV):
        query_llm_concepts(["jump rope"], config_for(server), str(tmp_path))
    assert server.request_count == 0


def test_the_key_is_sent_as_bearer_but_never_logged_or_raised(server, tmp_path, caplog) -> None:
    # The server echoes the Authorization header in its error body, as some proxies do.
    def echo(request: RecordedRequest) -> Reply:
        return error_reply(503, f"overloaded; you sent {request.headers.get('authorization')}")

    server.responder = echo
    caplog.set_level(logging.DEBUG)
    config = config_for(server, concurrency=1, queries_per_class=1, max_retries=2)
    with pytest.raises(LLMQueryError) as failure:
        query_llm_concepts(["jump rope"], config, str(tmp_path))
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    assert "retry 1 of 2" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in str(failure.value) and "***" in str(failure.value)
    assert failure.value.__cause__ is None and failure.value.__context__ is None


def test_one_shot_mode_sends_the_example_question_and_answer_first(server, tmp_path) -> None:
    config = config_for(server, one_shot=True, queries_per_class=1, concurrency=1)
    query_llm_concepts(["jump rope"], config, str(tmp_path))
    objects = next(r for r in server.requests if kind_of(r) == "objects").body["messages"]
    assert [m["role"] for m in objects] == ["user", "assistant", "user"]
    assert "drinking water" in objects[0]["content"]
    assert objects[1]["content"] == config.object_example_answer
    assert objects[2]["content"].endswith(config.object_focus)
    assert "jump rope" in objects[2]["content"]


def in_flight_recorder(delay_s: float) -> tuple[Callable[[RecordedRequest], Reply], list[int]]:
    """A responder that holds each request `delay_s` and records how many overlap."""
    lock = threading.Lock()
    state = {"now": 0}
    peaks: list[int] = []

    def respond(request: RecordedRequest) -> Reply:
        with lock:
            state["now"] += 1
            peaks.append(state["now"])
        time.sleep(delay_s)
        with lock:
            state["now"] -= 1
        return scripted(request)

    return respond, peaks


def test_requests_run_concurrently_but_never_beyond_the_bound(server, tmp_path) -> None:
    server.responder, peaks = in_flight_recorder(0.1)
    query_llm_concepts(CLASSES, config_for(server, concurrency=2), str(tmp_path))
    assert max(peaks) == 2


def test_the_rate_limit_spaces_request_starts(server, tmp_path) -> None:
    config = config_for(server, requests_per_minute=600, concurrency=4, queries_per_class=1)
    start = time.monotonic()
    query_llm_concepts(CLASSES, config, str(tmp_path))  # 4 requests, 0.1 s apart
    assert time.monotonic() - start >= 0.3


def test_class_names_must_be_unique_and_non_empty(server, tmp_path) -> None:
    with pytest.raises(ValueError, match="repeats"):
        query_llm_concepts(["a", "a"], config_for(server), str(tmp_path))
    with pytest.raises(ValueError, match="empty"):
        query_llm_concepts([], config_for(server), str(tmp_path))
    assert server.request_count == 0
