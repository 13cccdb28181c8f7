"""An independent MCP client check: the official Python `mcp` SDK drives the real binary.

Usage: python_mcp_check.py BINARY

It initializes, pages through tools/list, calls every listed tool with arguments that succeed
without tmux, validates each structuredContent against the tool's outputSchema with jsonschema,
checks that the text content holds the same JSON, and checks a validation failure. Prints one
line `python-mcp-check: N passed, 0 failed` and exits 0, or raises.
"""

import asyncio
import json
import os
import sys

import jsonschema
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

# Arguments per tool that succeed on a machine with no running agents.
CALLS = {
    "agent_lease_status": {"agent": "all"},
    "agent_claim": {"agent": "b", "ttl_seconds": 60},
    "agent_release": {"agent": "b"},
    "agent_scope_check": {"scope": ["src"], "write_paths": ["src/a.rs", "../escape"]},
}


def field(obj, *names):
    for name in names:
        if hasattr(obj, name):
            return getattr(obj, name)
    raise AttributeError(names[0])


async def main(binary: str) -> int:
    params = StdioServerParameters(command=binary, args=[], env=dict(os.environ))
    passed = 0
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            assert field(init, "serverInfo", "server_info").name == "codex-master-mcp"
            await session.send_ping()

            tools, cursor = [], None
            while True:
                if cursor is None:
                    page = await session.list_tools()
                else:
                    from mcp import types
                    page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
                tools.extend(page.tools)
                cursor = field(page, "nextCursor", "next_cursor")
                if not cursor:
                    break
            names = [t.name for t in tools]
            assert len(names) == len(set(names)), "duplicate tool names"
            for tool in tools:
                schema = field(tool, "inputSchema", "input_schema")
                out_schema = field(tool, "outputSchema", "output_schema")
                assert schema["additionalProperties"] is False, tool.name
                assert out_schema and out_schema["type"] == "object", tool.name
                jsonschema.Draft202012Validator.check_schema(schema)
                jsonschema.Draft202012Validator.check_schema(out_schema)
                assert tool.title and tool.description, tool.name
                assert tool.annotations is not None, tool.name
                passed += 1

            for name, args in CALLS.items():
                if name not in names:
                    raise AssertionError(f"expected tool {name} is not listed")
                result = await session.call_tool(name, args)
                assert not field(result, "isError", "is_error"), (name, result)
                structured = field(result, "structuredContent", "structured_content")
                tool = next(t for t in tools if t.name == name)
                jsonschema.validate(structured, field(tool, "outputSchema", "output_schema"))
                assert json.loads(result.content[0].text) == structured, name
                passed += 1

            bad = await session.call_tool("agent_claim", {"agent": "b", "ttl_seconds": "60"})
            assert field(bad, "isError", "is_error")
            structured = field(bad, "structuredContent", "structured_content")
            assert structured["error_code"] == "invalid_arguments", structured
            assert structured["message"] == "ttl_seconds must be an integer", structured
            passed += 1
    print(f"python-mcp-check: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
