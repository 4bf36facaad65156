"""A real client nobody here wrote, OpenAI's Python SDK (`openai` on PyPI), against sisk's chat-completions
example: it streams a completion with the usage chunk (keep-alive comments arrive while the fake model
thinks), reassembles the text, asks for a whole completion, and sends a request the server refuses. It
prints what it saw as one JSON line for examples/tests/chat_completions.rs to check."""

import json
import sys

import openai
from openai import OpenAI


def main(base_url: str) -> None:
    client = OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=30)
    seen = {"sdk": openai.__version__, "roles": [], "finish_reasons": [], "chunks_with_usage": 0}

    stream = client.chat.completions.create(
        model="echo-1",
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "streamed through the official SDK"},
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = []
    for chunk in stream:
        if chunk.usage is not None:
            seen["chunks_with_usage"] += 1
            seen["usage"] = chunk.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})
        for choice in chunk.choices:
            if choice.delta.role is not None:
                seen["roles"].append(choice.delta.role)
            if choice.delta.content:
                text.append(choice.delta.content)
            if choice.finish_reason is not None:
                seen["finish_reasons"].append(choice.finish_reason)
    seen["streamed"] = "".join(text)

    whole = client.chat.completions.create(
        model="echo-1",
        messages=[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "at once"}],
    )
    seen["whole"] = whole.choices[0].message.content
    seen["whole_usage"] = whole.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})

    try:
        client.chat.completions.create(model="echo-1", messages=[])
        seen["bad_request"] = "accepted"
    except openai.BadRequestError as refused:
        error = refused.body if isinstance(refused.body, dict) else {}
        seen["bad_request"] = {"status": refused.status_code, "type": error.get("type"), "param": error.get("param")}

    print(json.dumps(seen))


main(sys.argv[1])
