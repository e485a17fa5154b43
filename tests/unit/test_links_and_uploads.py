"""Email action links (signed, expiring, one page, one person) and photo checks, without a database."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from argon2 import extract_parameters
from PIL import Image

from estatecare import links
from estatecare.rate_limits import RateLimit
from estatecare.settings import Settings
from estatecare.uploads import UploadError, check_photo
from estatecare.webapp import security
from estatecare.webapp.i18n import pick_locale
from estatecare.webapp.security import check_password, csrf_ok, csrf_token, hash_password
from models.enums import Locale

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PAGE = "/staff/complaints/CH-261123-AAAAAA/resolution"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, link_max_age_hours=48)


def test_a_signed_link_names_its_person_and_page_and_opens_only_that_page(settings: Settings) -> None:
    url = links.sign_url(settings, 7, f"https://care.example{PAGE}", issued_at=NOW)
    assert url.startswith(f"https://care.example{PAGE}?t=")
    token = url.split("?t=", 1)[1]
    claim = links.read_token(settings, token, PAGE, NOW + timedelta(hours=47))
    assert (claim.staff_id, claim.path, claim.issued_at) == (7, PAGE, NOW)
    with pytest.raises(links.LinkError) as wrong:
        links.read_token(settings, token, PAGE.replace("resolution", "revisit"), NOW)
    assert wrong.value.reason == "wrong_page"
    with pytest.raises(links.LinkError) as late:
        links.read_token(settings, token, PAGE, NOW + timedelta(hours=49))
    assert late.value.reason == "expired"


def test_an_altered_token_or_one_signed_with_another_key_is_invalid(settings: Settings, tmp_path: Path) -> None:
    token = links.make_token(settings, 7, PAGE, NOW)
    payload, signature = token.rsplit(".", 1)
    forged = links.make_token(settings, 8, PAGE, NOW).rsplit(".", 1)[0] + "." + signature
    other = Settings(var_dir=tmp_path / "elsewhere")
    for bad, s in ((forged, settings), (payload + ".xyz", settings), ("", settings), (token, other)):
        with pytest.raises(links.LinkError) as err:
            links.read_token(s, bad, PAGE, NOW)
        assert err.value.reason == "invalid"


def test_each_link_is_unique_and_the_key_file_is_created_once_private(settings: Settings) -> None:
    a, b = links.make_token(settings, 7, PAGE, NOW), links.make_token(settings, 7, PAGE, NOW)
    assert links.read_token(settings, a, PAGE, NOW).jti != links.read_token(settings, b, PAGE, NOW).jti
    key_file = Path(settings.var_dir) / "secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert links.secret_key(settings) == key_file.read_text() and len(key_file.read_text()) >= 48
    assert links.secret_key(Settings(var_dir=settings.var_dir, secret_key="from-env")) == "from-env"


def _image(fmt: str) -> bytes:
    buf = BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, format=fmt)
    return buf.getvalue()


def test_photos_are_accepted_by_their_content_and_size_only() -> None:
    assert check_photo("a.jpg", _image("JPEG"), 10_000).content_type == "image/jpeg"
    assert check_photo("C:\\\\fakepath\\\\b.webp", _image("WEBP"), 10_000).filename == "b.webp"
    assert check_photo("named.gif", _image("PNG"), 10_000).content_type == "image/png"
    for name, data, limit, code in [
        ("x.gif", _image("GIF"), 10_000, "type"),
        ("x.png", b"<svg onload=alert(1)>", 10_000, "type"),
        ("x.png", _image("PNG"), 10, "size"),
    ]:
        with pytest.raises(UploadError) as err:
            check_photo(name, data, limit)
        assert err.value.code == code


def test_passwords_csrf_and_rate_limits() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and check_password(stored, "correct horse battery")
    assert not check_password(stored, "wrong") and not check_password(None, "anything")
    # no account costs the same argon2 work: the stand-in hash has the real one's parameters
    assert extract_parameters(security._DUMMY_HASH) == extract_parameters(stored)
    session: dict[str, object] = {}
    token = csrf_token(session)
    assert csrf_token(session) == token and csrf_ok(session, token)
    assert not csrf_ok(session, token + "x") and not csrf_ok(session, None) and not csrf_ok({}, token)
    limit = RateLimit("2/minute")
    assert [limit.hit("a"), limit.hit("a"), limit.hit("a"), limit.hit("b")] == [True, True, False, True]


def test_the_language_is_the_choice_then_the_staff_members_then_the_browsers() -> None:
    assert pick_locale(None, None, None, "") is Locale.ZH_HANT
    assert pick_locale(None, None, None, "zh-CN,zh;q=0.9") is Locale.ZH_HANS
    assert pick_locale(None, None, None, "zh-HK") is Locale.ZH_HANT
    assert pick_locale(None, None, None, "en-GB,en;q=0.8") is Locale.EN
    assert pick_locale(None, None, "en", "zh-CN") is Locale.EN
    assert pick_locale("zh-Hans", "en", "en", "en") is Locale.ZH_HANS
    assert pick_locale("klingon", None, None, "") is Locale.ZH_HANT
