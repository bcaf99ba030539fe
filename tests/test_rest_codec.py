"""The data-at-rest codec: what every backend stores when encryption or compression is on."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionstore import CorruptSessionError, InvalidArgumentError
from sessionstore._rest import Encryption, MissingKeyError, make_codec, payload_place

OLD, NEW = os.urandom(32), os.urandom(32)
PLACE = payload_place("tenant", "s1", "m", 0)
JSON = st.binary(max_size=2000).map(lambda raw: b"[" + base64.b64encode(raw) + b"]")


@given(payload=JSON, encrypt=st.booleans(), compress=st.booleans())
def test_what_is_sealed_unseals_to_the_same_bytes(
    payload: bytes, encrypt: bool, compress: bool
) -> None:
    codec = make_codec(Encryption({"k1": OLD}) if encrypt else None, "zstd" if compress else None)
    stored = codec.seal(payload, PLACE)
    assert codec.unseal(stored, PLACE, "s1") == payload
    if encrypt and len(payload) > 8:
        assert payload[1:-1] not in stored


@given(payload=JSON)
def test_every_flipped_byte_is_caught(payload: bytes) -> None:
    codec = make_codec(Encryption({"k1": OLD}), "zstd")
    stored = bytearray(codec.seal(payload, PLACE))
    for index in range(1, len(stored)):
        tampered = stored.copy()
        tampered[index] ^= 0x01
        with pytest.raises(CorruptSessionError) as caught:
            codec.unseal(bytes(tampered), PLACE, "s1")
        assert caught.value.session_id == "s1"


@pytest.mark.parametrize(
    "elsewhere",
    [
        payload_place("tenant", "s2", "m", 0),  # another session
        payload_place("other", "s1", "m", 0),  # another namespace
        payload_place("tenant", "s1", "m", 5),  # another position
        payload_place("tenant", "s1", "a"),  # attributes, not messages
    ],
)
def test_a_payload_moved_elsewhere_does_not_decrypt(elsewhere: bytes) -> None:
    codec = make_codec(Encryption({"k1": OLD}))
    stored = codec.seal(b'[{"role":"user","content":"secret"}]', PLACE)
    with pytest.raises(CorruptSessionError, match="does not decrypt"):
        codec.unseal(stored, elsewhere, "s2")


def test_rotation_reads_old_keys_and_writes_the_primary() -> None:
    before = make_codec(Encryption({"old": OLD}))
    after = make_codec(Encryption({"old": OLD, "new": NEW}))
    old_payload = before.seal(b"[1]", PLACE)
    assert after.unseal(old_payload, PLACE, "s1") == b"[1]"
    assert b"new" in after.seal(b"[1]", PLACE)[:8]
    with pytest.raises(MissingKeyError) as caught:
        before.unseal(after.seal(b"[1]", PLACE), PLACE, "s1")
    assert caught.value.key_id == "new" and "'new'" in str(caught.value)


def test_a_wrong_key_under_the_same_id_is_corruption_not_a_crash() -> None:
    stored = make_codec(Encryption({"k": OLD})).seal(b"[1]", PLACE)
    with pytest.raises(CorruptSessionError, match="does not decrypt under key id 'k'"):
        make_codec(Encryption({"k": NEW})).unseal(stored, PLACE, "s1")


def test_plain_and_compressed_data_read_everywhere() -> None:
    plain, packed = make_codec(), make_codec(compression="zstd")
    payload = b'[{"role":"user","content":"' + b"again " * 500 + b'"}]'
    squeezed = packed.seal(payload, PLACE)
    assert len(squeezed) < len(payload) / 10
    assert plain.unseal(squeezed, PLACE, "s1") == payload
    assert packed.unseal(payload, PLACE, "s1") == payload
    encrypted = make_codec(Encryption({"k": OLD}))
    assert encrypted.unseal(payload, PLACE, "s1") == payload  # written before encryption
    with pytest.raises(CorruptSessionError, match="given no keys"):
        plain.unseal(encrypted.seal(payload, PLACE), PLACE, "s1")


def test_keys_never_show() -> None:
    key = os.urandom(32)
    encryption = Encryption({"k": key})
    assert key.hex() not in repr(encryption) and "k" in repr(encryption)
    text = "k:" + base64.b64encode(key).decode()
    for bad in (text + ",broken", text[:-3] + "!!!", "k:" + base64.b64encode(key[:16]).decode()):
        with pytest.raises(InvalidArgumentError) as caught:
            Encryption.parse(bad)
        assert base64.b64encode(key).decode()[:10] not in str(caught.value)


def test_from_env_takes_the_last_key_as_primary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SESSIONSTORE_ENCRYPTION_KEYS",
        f"a:{base64.b64encode(OLD).decode()}, b:{base64.b64encode(NEW).decode()}",
    )
    encryption = Encryption.from_env()
    assert encryption is not None and encryption.primary == "b"
    assert encryption.key("a") == OLD
    monkeypatch.setenv("SESSIONSTORE_ENCRYPTION_KEYS", "")
    assert Encryption.from_env() is None


@pytest.mark.parametrize(
    ("encryption", "compression"),
    [("key", None), (None, "gzip"), (None, True)],
)
def test_bad_options_are_refused(encryption: object, compression: object) -> None:
    with pytest.raises(InvalidArgumentError):
        make_codec(encryption, compression)
