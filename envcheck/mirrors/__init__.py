"""`envcheck mirrors`: list the known mirrors, show what pip / conda / uv use, switch them, undo, test.

Modules, each small and usable on its own:

* :mod:`.fileio` -- the planned change to one file (:class:`~.fileio.Edit`), atomic writes that keep
  the file mode, diffs for the user to read.
* :mod:`.text` -- refusals, notes and problems made deep and worded where shown (``--lang``).
* :mod:`.edit_pip`, :mod:`.edit_conda`, :mod:`.edit_uv` -- minimal text edits of pip.conf/pip.ini,
  ~/.condarc and uv.toml: only the keys a mirror needs change, every other byte stays.
* :mod:`.backup` -- the journal of original bytes that `mirrors restore` puts back.
* :mod:`.status` -- what each tool uses now and from where, and the problems (plain data).
* :mod:`.nettest` -- concurrent latency and small-download measurement of every mirror.
* :mod:`.commands` -- the five commands: gather, render (rich or JSON), return an exit code.

The mirror facts themselves are data: the top-level ``mirrors/`` folder, loaded by
:meth:`envcheck.knowledge.Knowledge.mirrors`.
"""
