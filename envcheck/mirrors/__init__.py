"""`envcheck mirrors`: list the known mirrors, show what pip / conda / uv use, switch them, undo, test.

Modules, each small and usable on its own:

* :mod:`.fileio` -- the planned change to one file (:class:`~.fileio.Edit`), refusals that carry a
  Message, diffs for the user to read (the writes go through :mod:`envcheck.fileio`).
* :mod:`.edit_pip`, :mod:`.edit_conda`, :mod:`.edit_uv` -- minimal text edits of pip.conf/pip.ini,
  ~/.condarc and uv.toml: only the keys a mirror needs change, every other byte stays.
* :mod:`.backup` -- the journal of original bytes that `mirrors restore` puts back (validated, never
  obeyed outside :mod:`.places`, the config files `use` edits).
* :mod:`.lock` -- one lock per backup folder, so concurrent `use` / `restore` runs queue or refuse.
* :mod:`.status` -- what each tool uses now and from where, and the problems (plain data).
* :mod:`.nettest` -- concurrent latency and small-download measurement of every mirror.
* :mod:`.commands` -- the five commands: gather, decide, write, return an exit code.
* :mod:`.render` -- the one module here that words sentences: a :class:`~.render.Screen` in the
  reader's language (rich tables and lines, or JSON), built by the CLI and called by the commands.

Below :mod:`.render` every sentence is an :class:`envcheck.i18n.Message`; nothing takes a gettext ``_``.

The mirror facts themselves are data: the top-level ``mirrors/`` folder, loaded by
:meth:`envcheck.knowledge.Knowledge.mirrors`.
"""
