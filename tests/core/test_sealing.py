"""Third-party credentials are stored sealed and read back; legacy clear values still read."""

import pytest
from pydantic import SecretStr

from govgrid.config import get_settings, set_settings
from govgrid.core.sealing import PREFIX, SealError, seal, unseal

pytestmark = pytest.mark.usefixtures("database_url")  # the test settings (their secret key) are installed


def test_seal_round_trip_and_legacy_values():
    sealed = seal("govgridDemoToken2026")
    assert sealed.startswith(PREFIX) and "govgridDemoToken2026" not in sealed
    assert unseal(sealed) == "govgridDemoToken2026"
    assert unseal("plain-legacy-token") == "plain-legacy-token"


def test_another_secret_key_cannot_unseal():
    sealed = seal("token")
    saved = get_settings()
    set_settings(saved.model_copy(update={"secret_key": SecretStr("another-" + "y" * 40)}))
    try:
        with pytest.raises(SealError):
            unseal(sealed)
    finally:
        set_settings(saved)
