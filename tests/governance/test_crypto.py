"""Key ring files, AES-GCM field sealing with key ids, keyed tokens."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from zhian.config import GovernanceSettings
from zhian.governance.crypto import DecryptionError, FieldCipher, key_id_of
from zhian.governance.keys import (
    KeyRing,
    KeyRingError,
    generate_keyring,
    key_file_path,
    load_keyring,
    write_keyring,
)
from zhian.governance.tokens import Tokeniser, is_token


def test_key_file_is_written_owner_only_and_loads_back(tmp_path: Path) -> None:
    settings = GovernanceSettings()
    path = key_file_path(settings, tmp_path)
    ring = generate_keyring()
    write_keyring(path, ring)

    assert path == tmp_path / "keys" / "zhian-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_keyring(settings, tmp_path, environ={})
    assert loaded == ring
    with pytest.raises(KeyRingError, match="already exists"):
        write_keyring(path, generate_keyring())


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = GovernanceSettings()
    path = key_file_path(settings, tmp_path)
    write_keyring(path, generate_keyring())
    path.chmod(0o644)
    with pytest.raises(KeyRingError, match="readable by other users"):
        load_keyring(settings, tmp_path, environ={})


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    settings = GovernanceSettings(key_env="TEST_RING")
    ring = generate_keyring()
    loaded = load_keyring(settings, tmp_path, environ={"TEST_RING": ring.to_json().decode()})
    assert loaded == ring
    with pytest.raises(KeyRingError, match="zhian keys init"):
        load_keyring(settings, tmp_path, environ={})
    with pytest.raises(KeyRingError, match="not a valid key ring"):
        load_keyring(settings, tmp_path, environ={"TEST_RING": "{}"})


def test_sealed_values_carry_their_key_id_and_open_only_in_their_context() -> None:
    ring = generate_keyring()
    cipher = FieldCipher(ring)
    sealed = cipher.seal("13812345678", "residents.phone_enc:R1")

    assert b"13812345678" not in sealed
    assert key_id_of(sealed) == "k1"
    assert cipher.open(sealed, "residents.phone_enc:R1") == "13812345678"
    assert cipher.seal("13812345678", "residents.phone_enc:R1") != sealed  # fresh nonce
    with pytest.raises(DecryptionError, match="sealed for another field"):
        cipher.open(sealed, "residents.phone_enc:R2")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(DecryptionError):
        cipher.open(tampered, "residents.phone_enc:R1")


def test_binary_values_seal_like_text_and_open_only_in_their_context() -> None:
    cipher = FieldCipher(generate_keyring())
    record = bytes(range(256)) * 4  # not valid UTF-8: a record, not a text field
    sealed = cipher.seal_bytes(record, "event_log.record")

    assert record not in sealed and key_id_of(sealed) == "k1"
    assert cipher.open_bytes(sealed, "event_log.record") == record
    with pytest.raises(DecryptionError, match="sealed for another field"):
        cipher.open_bytes(sealed, "residents.phone_enc:R1")
    # One format for both: a text value opens as its UTF-8 bytes, and back.
    assert cipher.open_bytes(cipher.seal("张三", "c"), "c") == "张三".encode()
    assert cipher.open(cipher.seal_bytes("张三".encode(), "c"), "c") == "张三"


def test_rotation_keeps_old_values_readable_and_reseals_them() -> None:
    old_ring = generate_keyring()
    sealed = FieldCipher(old_ring).seal("张三", "residents.name_enc:R1")
    new_ring = old_ring.with_new_active()
    cipher = FieldCipher(new_ring)

    assert new_ring.active == "k2"
    assert cipher.open(sealed, "residents.name_enc:R1") == "张三"
    fresh = cipher.reseal(sealed, "residents.name_enc:R1")
    assert fresh is not None and key_id_of(fresh) == "k2"
    assert cipher.reseal(fresh, "residents.name_enc:R1") is None
    retired = FieldCipher(new_ring.without({"k1"}))
    with pytest.raises(DecryptionError, match="key 'k1', which the ring lacks"):
        retired.open(sealed, "residents.name_enc:R1")
    with pytest.raises(KeyRingError, match="cannot be retired"):
        new_ring.without({"k2"})


def test_a_ring_reusing_the_token_key_is_refused() -> None:
    ring = generate_keyring()
    with pytest.raises(KeyRingError, match="token_key must differ"):
        KeyRing(ring.active, ring.keys, ring.keys["k1"], ring.seal_key)


def test_tokens_are_keyed_stable_and_kind_separated() -> None:
    ring = generate_keyring()
    tokens = Tokeniser(ring.token_key)
    token = tokens.token("id_number", "11010519491231002X")

    assert is_token(token)
    assert token == tokens.token("id_number", "11010519491231002X")
    assert token != tokens.token("phone", "11010519491231002X")
    assert token != Tokeniser(generate_keyring().token_key).token("id_number", "11010519491231002X")
    assert "1101" not in token
