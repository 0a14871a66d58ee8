import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="Qamera Studio")


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    mo.md(r"""
    # Qamera Studio in marimo

    The same studio as `02_prompt_studio.ipynb`: write a prompt (or a template such as
    `{oak|marble} countertop` to compare), press **Generate** (or Ctrl/Cmd+Enter), watch the run's
    placeholders turn into pictures, and click one to see it large (arrows move, Esc closes).

    With `QAMERA_API_KEY` unset it works against a local sandbox and says so: no real credits are
    spent. Nothing is generated until you press Generate.

    Open it with `marimo edit marimo_studio.py`, or as an app with `marimo run marimo_studio.py`
    (`qamera-widgets notebooks DIR` copies it out of the package).
    """)
    return


@app.cell
def _():
    from qamera_widgets import Studio

    studio = Studio.from_env()
    studio
    return (studio,)


if __name__ == "__main__":
    app.run()
