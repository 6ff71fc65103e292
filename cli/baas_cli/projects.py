"""``baas projects``: create, list, show and delete projects."""

from __future__ import annotations

from typing import Annotated

import typer

from . import limits as plans
from .output import JsonOpt, YesOpt, emit, keys_table, projects_table, secrets
from .session import UrlOpt, admin_session

app = typer.Typer(help="Create, list, show and delete projects; show and set their limits.",
                  no_args_is_help=True)

ProjectId = Annotated[str, typer.Argument(help="Project id, e.g. myapp.", show_default=False)]


@app.command("create")
def create(
    project_id: ProjectId,
    name: Annotated[
        str | None,
        typer.Option("--name", show_default=False, help="Display name (default: the id)."),
    ] = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create a project with a publishable and a secret key; the secrets are shown once."""
    with admin_session(url) as admin:
        created = admin.projects.create(project_id, name=name)

    def human() -> None:
        projects_table([created.project], title="Project")
        keys_table(created.keys, title="Keys")
        secrets(created.keys)

    emit(created, json_output, human)


@app.command("list")
def list_projects(url: UrlOpt = None, json_output: JsonOpt = False) -> None:
    """List every project."""
    with admin_session(url) as admin:
        projects = admin.projects.list()
    emit(projects, json_output, lambda: projects_table(projects),
         empty="No projects yet: create one with `baas projects create ID`.")


@app.command("show")
def show(project_id: ProjectId, url: UrlOpt = None, json_output: JsonOpt = False) -> None:
    """Show one project."""
    with admin_session(url) as admin:
        project = admin.projects.get(project_id)
    emit(project, json_output, lambda: projects_table([project]))


@app.command("delete")
def delete(
    project_id: ProjectId,
    yes: YesOpt = False,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Delete a project and all its data. This cannot be undone."""
    if not yes:
        typer.confirm(
            f"Delete project '{project_id}' and all its data? This cannot be undone",
            abort=True,
        )
    with admin_session(url) as admin:
        admin.projects.delete(project_id)
    emit({"deleted": project_id}, json_output, f"Deleted project {project_id}.")


@app.command("limits")
def limits(
    project_id: ProjectId,
    key_rate: plans.KeyRateOpt = None,
    key_burst: plans.KeyBurstOpt = None,
    address_rate: plans.AddressRateOpt = None,
    address_burst: plans.AddressBurstOpt = None,
    daily_quota: plans.DailyQuotaOpt = None,
    reset: plans.ResetOpt = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Show the rate limits and daily quota of a project's keys; with options, change them
    first (what the project does not set comes from the server's settings)."""
    changes = plans.changes_of(reset, key_rate=key_rate, key_burst=key_burst,
                               address_rate=address_rate, address_burst=address_burst,
                               daily_quota=daily_quota)
    plans.show_project(project_id, changes, url, json_output)
