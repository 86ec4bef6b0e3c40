"""API tokens: created and revoked by their user (or a clinic admin for the clinic's staff), by
API or on /account/tokens/; only a hash is stored and the secret is shown once."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.clinic.models import ApiToken
from tests.api.conftest import Api, api_for, assert_error_shape
from tests.clinic.conftest import login


def test_a_created_token_works_and_only_its_hash_is_stored(alice: User) -> None:
    response = api_for(alice).post("/tokens", {"name": "lab export"})
    assert response.status_code == 201, response.content
    secret = response.json()["token"]
    stored = ApiToken.objects.get(pk=response.json()["id"])
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {getattr(stored, f.attname) for f in ApiToken._meta.concrete_fields}
    assert Api(secret).get("/tokens").status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_the_secret_is_never_listed_again(alice: User) -> None:
    api = api_for(alice)
    secret = api.post("/tokens", {"name": "lab export"}).json()["token"]
    listed = api.get("/tokens")
    assert listed.status_code == 200
    assert secret not in listed.content.decode()
    assert all("token" not in item for item in listed.json()["items"])


def test_a_revoked_token_is_refused_and_stays_listed(alice: User) -> None:
    api = api_for(alice)
    made = api.post("/tokens", {"name": "short lived"}).json()
    revoked = api.post(f"/tokens/{made['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert_error_shape(Api(made["token"]).get("/tokens"), 401, None)
    listed = {item["id"]: item for item in api.get("/tokens").json()["items"]}
    assert listed[made["id"]]["revoked_at"] is not None


def test_a_colleague_cannot_see_or_revoke_my_tokens(alice: User, bob: User) -> None:
    mine, _ = ApiToken.issue(alice, "mine")
    api = api_for(bob)
    assert_error_shape(api.post(f"/tokens/{mine.pk}/revoke"), 404, None)
    assert mine.pk not in [item["id"] for item in api.get("/tokens").json()["items"]]
    mine.refresh_from_db()
    assert mine.active


def test_a_user_cannot_create_a_token_for_someone_else(alice: User, bob: User) -> None:
    response = api_for(bob).post("/tokens", {"name": "sneaky", "user": "alice"})
    assert_error_shape(response, 422, "user")
    assert not ApiToken.objects.filter(user=alice).exists()


def test_a_clinic_admin_manages_the_clinics_tokens_only(
    alice: User, carol: User, erin: User
) -> None:
    api = api_for(erin)
    made = api.post("/tokens", {"name": "for alice", "user": "alice"})
    assert made.status_code == 201
    assert made.json()["user"] == "alice"
    alices, _ = ApiToken.issue(alice, "alice's own")
    assert api.post(f"/tokens/{alices.pk}/revoke").status_code == 200
    carols, _ = ApiToken.issue(carol, "carol's")
    assert_error_shape(api.post(f"/tokens/{carols.pk}/revoke"), 404, None)
    assert_error_shape(api.post("/tokens", {"name": "x", "user": "carol"}), 422, "user")


def test_a_token_name_is_required(alice: User) -> None:
    assert_error_shape(api_for(alice).post("/tokens", {"name": ""}), 422, "name")


def test_a_token_of_a_deactivated_user_is_refused(alice: User) -> None:
    api = api_for(alice)
    alice.is_active = False
    alice.save()
    assert_error_shape(api.get("/tokens"), 401, None)


# --- the web page ---


def test_the_page_creates_a_token_and_shows_it_once(alice: User) -> None:
    client = login(alice)
    response = client.post(reverse("account-tokens"), {"name": "laptop", "user": "alice"})
    assert response.status_code == 201
    token = ApiToken.objects.get(user=alice)
    secret = response.context["created"]
    assert ApiToken.hash_token(secret) == token.token_hash
    assert secret in response.content.decode()
    again = client.get(reverse("account-tokens"))
    assert again.status_code == 200
    assert secret not in again.content.decode()
    assert "laptop" in again.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_the_page_refuses_a_blank_name(alice: User) -> None:
    response = login(alice).post(reverse("account-tokens"), {"name": "  ", "user": "alice"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_the_page_revokes_a_token(alice: User) -> None:
    token, _ = ApiToken.issue(alice, "laptop")
    response = login(alice).post(reverse("account-token-revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert not token.active


def test_the_page_cannot_revoke_a_colleagues_token(alice: User, bob: User) -> None:
    token, _ = ApiToken.issue(alice, "laptop")
    response = login(bob).post(reverse("account-token-revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.active


def test_a_clinic_admin_creates_a_token_for_staff_on_the_page(alice: User, erin: User) -> None:
    response = login(erin).post(reverse("account-tokens"), {"name": "ehr", "user": "alice"})
    assert response.status_code == 201
    assert ApiToken.objects.get().user == alice
