"""The public 公示 board: no token, masked names and IDs, never survey data."""

from __future__ import annotations

import datetime as dt

from registry_testdata import OTHER_VILLAGE, VILLAGE, household_body
from workflow_steps import COUNTY, MEETING, new_candidate, ok_step, set_today, to_village_publicity

from contracts.resident_id import mask_name

MAY_4 = dt.date(2026, 5, 4)


def test_names_are_masked_like_a_notice_board():
    assert [mask_name(n) for n in ("张晓明", "马建", "欧阳娜娜", "李", "")] == [
        "张*明",
        "马*",
        "欧**娜",
        "*",
        "*",
    ]


async def test_public_board_lists_open_windows_masked_and_without_survey_data(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, MAY_4)
    income = "1234.56"
    survey = {"survey_year": 2025, "per_capita_net_income": income, "assets": ["car"]}
    included = await new_candidate(client, admin, survey=survey)
    await to_village_publicity(client, included, admin)
    exiting = (
        await client.post("/households", json=household_body(survey=survey), headers=admin)
    ).json()
    await ok_step(client, exiting["id"], "nominate_exit", admin, planned_exit_year=2026)
    await ok_step(client, exiting["id"], "appraise_exit", admin, **MEETING)
    await new_candidate(client, admin)  # not under notice
    elsewhere = await new_candidate(client, admin, region_code=OTHER_VILLAGE)
    await to_village_publicity(client, elsewhere, admin)

    board = await client.get(f"/public/villages/{VILLAGE}/notices")  # no token
    assert board.status_code == 200, board.text
    notice = board.json()
    assert (notice["village_name"], notice["township_name"]) == ("城关村", "城关镇")
    assert notice["objection_hotline"] == "12317" and "12317" in notice["how_to_object"]
    entries = {(e["purpose"], e["stage"]): e for e in notice["entries"]}
    assert set(entries) == {("inclusion", "village_publicity"), ("exit", "exit_publicity")}
    exit_entry = entries[("exit", "exit_publicity")]
    assert exit_entry["head_name"] == "马*国" and exit_entry["household_size"] == 3
    assert exit_entry["start_date"] == "2026-05-04" and exit_entry["end_date"] == "2026-05-10"
    assert exit_entry["purpose_label"] == "脱贫" and exit_entry["assistance_type_label"]

    # Never a full ID number, a full name or anything from the survey.
    raw = board.text
    head = (await client.get(f"/households/{exiting['id']}", headers=admin)).json()
    head_number = head["members"][0]["id_number"]
    assert len(head_number) == 18 and head_number not in raw
    assert exit_entry["head_id_number"] == head_number[:4] + "*" * 13 + head_number[-1]
    for member in head["members"]:
        assert member["name"] not in raw
    for secret in (income, "car", "illness", "因病", "per_capita", "income", "assets", "causes"):
        assert secret not in raw, secret

    only_exit = await client.get(
        f"/public/villages/{VILLAGE}/notices", params={"stage": "exit_publicity"}
    )
    assert [e["purpose"] for e in only_exit.json()["entries"]] == ["exit"]

    # When the window is over and the next step taken, the entry leaves the board.
    set_today(registry_app, MAY_4 + dt.timedelta(days=7))
    await ok_step(client, exiting["id"], "check_exit", admin, checker="乡审核", opinion="达标")
    after = (await client.get(f"/public/villages/{VILLAGE}/notices")).json()
    assert [e["purpose"] for e in after["entries"]] == ["inclusion"]


async def test_public_board_of_an_unknown_place_is_404(client):
    assert (await client.get("/public/villages/622924100299/notices")).status_code == 404
    township = await client.get("/public/villages/622924100000/notices")
    assert township.status_code == 404
    assert (await client.get("/public/villages/12/notices")).status_code == 422
