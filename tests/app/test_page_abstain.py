"""The page shows an abstention as such: one line, the closest passages, and a note."""

from __future__ import annotations

from pathlib import Path

from tests.app.page_helpers import DOC, ask, page, upload


def test_off_topic_question_is_not_answered_and_says_so(env: Path) -> None:
    at = upload(page(), "runbook.md", DOC.encode())
    at = ask(at, "What is the capital of France?")
    assert not at.exception and not at.error
    [assistant] = [m for m in at.chat_message if m.name == "assistant"]
    answer = assistant.markdown[0].value
    assert answer.startswith("The documents do not answer this question.")
    assert "closest, not answers" in answer and "runbook.md" in answer
    assert "not answered by the documents" in assistant.caption[0].value
