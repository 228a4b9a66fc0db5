"""envcheck as an MCP server (``envcheck mcp``): doctor, analyze, install-cmd, smoke and explain as tools
for AI assistants, answering with the very JSON the command line's ``--json`` prints.

:mod:`.tools` turns a tool's arguments into a command line (no SDK needed, so it is tested everywhere);
:mod:`.server` is the only module that imports the ``mcp`` SDK (the optional ``torch-envcheck[mcp]``),
and only ``envcheck mcp`` imports it. The command line itself is handed in by ``cli/mcp.py``, so this
package never imports the CLI (nor typer).
"""
