"""Encryption at rest of Clockify keys: AES-GCM bound to its row, key ids, loading, rotation,
failing closed, and no plaintext or key material in reprs and messages."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import stat
import threading

import pytest

from services import secrets
from services.secrets import DataKeyError, KeyRing, encode_key, generate_key, load_keyring

AAD = b"hourbill:clockify:user=3:connection=7"
PLAINTEXT = "CANARY-KEY-4f1c9a"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_roundtrip_and_format():
    ring = KeyRing([generate_key()])
    sealed = ring.encrypt(PLAINTEXT, AAD)
    assert ring.decrypt(sealed, AAD) == PLAINTEXT
    assert len(sealed.nonce) == 12
    assert PLAINTEXT.encode() not in sealed.ciphertext
    assert len(sealed.ciphertext) == len(PLAINTEXT) + 16  # GCM tag
    assert sealed.key_id == ring.current_key_id


def test_key_id_is_sha256_prefix_of_the_key():
    key = generate_key()
    assert KeyRing([key]).current_key_id == hashlib.sha256(key).hexdigest()[:16]


def test_fresh_nonce_per_encryption():
    ring = KeyRing([generate_key()])
    first, second = ring.encrypt(PLAINTEXT, AAD), ring.encrypt(PLAINTEXT, AAD)
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def test_aad_binds_the_ciphertext_to_its_row():
    ring = KeyRing([generate_key()])
    sealed = ring.encrypt(PLAINTEXT, AAD)
    with pytest.raises(DataKeyError, match="does not open this record"):
        ring.decrypt(sealed, b"hourbill:clockify:user=4:connection=7")


def test_aad_is_required_bytes():
    ring = KeyRing([generate_key()])
    with pytest.raises(TypeError):
        ring.encrypt(PLAINTEXT, "hourbill:clockify:user=3")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ring.encrypt(PLAINTEXT, b"")


def test_tampered_ciphertext_fails_closed():
    ring = KeyRing([generate_key()])
    sealed = ring.encrypt(PLAINTEXT, AAD)
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(DataKeyError):
        ring.decrypt(dataclasses.replace(sealed, ciphertext=flipped), AAD)
    with pytest.raises(DataKeyError):
        ring.decrypt(dataclasses.replace(sealed, nonce=b"short"), AAD)


def test_unknown_key_id_fails_closed_with_a_plain_message():
    sealed = KeyRing([generate_key()]).encrypt(PLAINTEXT, AAD)
    other = KeyRing([generate_key()])
    with pytest.raises(DataKeyError) as caught:
        other.decrypt(sealed, AAD)
    message = str(caught.value)
    assert message.startswith("This data key cannot read the stored Clockify keys")
    assert sealed.key_id in message and "HOURBILL_DATA_KEY" in message and "instance/data.key" in message


def test_wrong_key_under_the_right_id_fails_closed():
    sealed = KeyRing([generate_key()]).encrypt(PLAINTEXT, AAD)
    impostor = KeyRing([generate_key()])
    forged = dataclasses.replace(sealed, key_id=impostor.current_key_id)
    with pytest.raises(DataKeyError, match="This data key cannot read the stored Clockify keys"):
        impostor.decrypt(forged, AAD)


def test_old_keys_still_decrypt_and_new_secrets_use_the_current_key():
    old = KeyRing([generate_key()])
    sealed = old.encrypt(PLAINTEXT, AAD)
    ring = old.rotated()
    assert ring.current_key_id != old.current_key_id
    assert ring.key_ids == [ring.current_key_id, old.current_key_id]
    assert ring.decrypt(sealed, AAD) == PLAINTEXT
    assert ring.encrypt(PLAINTEXT, AAD).key_id == ring.current_key_id


def test_keyring_rejects_wrong_sizes_and_dedupes():
    with pytest.raises(DataKeyError):
        KeyRing([])
    with pytest.raises(DataKeyError):
        KeyRing([b"x" * 16])
    key = generate_key()
    assert len(KeyRing([key, key]).key_ids) == 1


def test_reprs_and_messages_never_show_plaintext_or_key_material():
    key = generate_key()
    ring = KeyRing([key])
    sealed = ring.encrypt(PLAINTEXT, AAD)
    texts = [repr(sealed), str(sealed), repr(ring), str(ring)]
    for error_case in (
        lambda: KeyRing([generate_key()]).decrypt(sealed, AAD),
        lambda: ring.decrypt(sealed, b"other-row"),
        lambda: load_keyring(encode_key(key)[:-3], None, create=False),  # type: ignore[arg-type]
    ):
        with pytest.raises(DataKeyError) as caught:
            error_case()
        texts += [str(caught.value), repr(caught.value)]
    for text in texts:
        assert PLAINTEXT not in text
        assert encode_key(key) not in text and encode_key(key)[:20] not in text
        assert sealed.ciphertext.hex() not in text


# --- loading -------------------------------------------------------------------------------------


def test_key_file_created_once_with_mode_0600_and_reused(tmp_path):
    path = tmp_path / "instance" / "data.key"
    first = load_keyring(None, path, create=True)
    assert path.exists() and mode(path) == 0o600
    content = path.read_bytes()
    again = load_keyring(None, path, create=True)
    assert again.current_key_id == first.current_key_id
    assert path.read_bytes() == content
    assert [p.name for p in path.parent.iterdir()] == ["data.key"]  # no temp files left behind
    sealed = first.encrypt(PLAINTEXT, AAD)
    assert again.decrypt(sealed, AAD) == PLAINTEXT


def test_existing_key_file_is_never_overwritten(tmp_path):
    path = tmp_path / "data.key"
    key = generate_key()
    path.write_text(encode_key(key) + "\n")
    os.chmod(path, 0o600)
    before = path.read_bytes()
    ring = load_keyring(None, path, create=True)
    assert ring.current_key_id == secrets.key_id(key)
    assert path.read_bytes() == before
    # the creator itself refuses to replace a file that appeared in the meantime
    secrets._create_key_file(path)
    assert path.read_bytes() == before


def test_a_malformed_key_file_is_an_error_not_a_new_key(tmp_path):
    path = tmp_path / "data.key"
    path.write_text("# comment\n\nnot-a-key\n")
    with pytest.raises(DataKeyError, match=r"Line 3 of .*data.key is not a valid data key: expected 32 random bytes"):
        load_keyring(None, path, create=True)
    assert path.read_text() == "# comment\n\nnot-a-key\n"


def test_missing_key_without_create_fails_closed(tmp_path):
    path = tmp_path / "data.key"
    with pytest.raises(DataKeyError, match="No data key"):
        load_keyring(None, path, create=False)
    assert not path.exists()


def test_key_file_order_comments_and_blank_lines(tmp_path):
    current, old = generate_key(), generate_key()
    path = tmp_path / "data.key"
    path.write_text(f"# keys\n{encode_key(current)}\n\n{encode_key(old).rstrip('=')}\n")
    ring = load_keyring(None, path, create=False)
    assert ring.key_ids == [secrets.key_id(current), secrets.key_id(old)]


def test_env_var_wins_over_the_key_file(tmp_path):
    path = tmp_path / "data.key"
    file_key, env_current, env_old = generate_key(), generate_key(), generate_key()
    path.write_text(encode_key(file_key) + "\n")
    ring = load_keyring(f"{encode_key(env_current)}, {encode_key(env_old)},", path, create=True)
    assert ring.key_ids == [secrets.key_id(env_current), secrets.key_id(env_old)]
    assert not (tmp_path / "other.key").exists()
    ring = load_keyring(encode_key(env_current), tmp_path / "other.key", create=True)
    assert not (tmp_path / "other.key").exists()  # nothing generated when the env var is set


@pytest.mark.parametrize(
    "value",
    [
        "",
        " , ",
        "tooshort",
        base64.urlsafe_b64encode(os.urandom(16)).decode(),  # AES-128 is not accepted
        base64.urlsafe_b64encode(os.urandom(32)).decode()[:-2] + "!!",  # not base64
    ],
    ids=["empty", "commas", "too-short", "aes-128", "not-base64"],
)
def test_malformed_env_var_is_rejected_clearly(tmp_path, value):
    with pytest.raises(DataKeyError, match="HOURBILL_DATA_KEY") as caught:
        load_keyring(value, tmp_path / "data.key", create=True)
    if value.strip(" ,"):
        assert value not in str(caught.value)
        assert "Key 1 in HOURBILL_DATA_KEY is not a valid data key" in str(caught.value)
    assert not (tmp_path / "data.key").exists()


def test_env_value_roundtrips_through_to_env_value(tmp_path):
    ring = KeyRing([generate_key()]).rotated()
    again = load_keyring(ring.to_env_value(), tmp_path / "unused.key", create=False)
    assert again.key_ids == ring.key_ids


# --- rotation ------------------------------------------------------------------------------------


def test_rotation_reencrypts_everything_under_the_new_key(tmp_path):
    old = KeyRing([generate_key()])
    stored = [(old.encrypt(f"key-{n}", f"row={n}".encode()), f"row={n}".encode()) for n in range(3)]
    ring = old.rotated()
    fresh = secrets.reencrypt(ring, stored)
    assert [s.key_id for s in fresh] == [ring.current_key_id] * 3
    new_only = ring.current_only()
    assert new_only.key_ids == [ring.current_key_id]
    assert [new_only.decrypt(s, aad) for s, (_, aad) in zip(fresh, stored)] == ["key-0", "key-1", "key-2"]


def test_rotation_is_all_or_nothing(monkeypatch):
    old = KeyRing([generate_key()])
    stored = [(old.encrypt(f"key-{n}", b"row"), b"row") for n in range(3)]
    stored[2] = (stored[2][0], b"another-row")  # the last one cannot be read
    ring = old.rotated()
    encrypted = []
    monkeypatch.setattr(KeyRing, "encrypt", lambda self, *a: encrypted.append(a))
    with pytest.raises(DataKeyError, match="Stored secret 3 of 3: .*Nothing was re-encrypted"):
        secrets.reencrypt(ring, stored)
    assert encrypted == []  # decrypts everything before encrypting anything


def test_write_key_file_is_atomic_and_0600(tmp_path, monkeypatch):
    path = tmp_path / "data.key"
    old = load_keyring(None, path, create=True)
    before = path.read_bytes()
    ring = old.rotated()

    def interrupted(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(OSError):
        secrets.write_key_file(path, ring)
    assert path.read_bytes() == before  # the old key file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["data.key"]  # and the temp file is gone
    monkeypatch.undo()

    secrets.write_key_file(path, ring)
    assert mode(path) == 0o600
    assert load_keyring(None, path, create=False).key_ids == ring.key_ids


def test_workers_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "data.key"
    start = threading.Barrier(8)
    found: list[str] = []

    def worker():
        start.wait()
        found.append(load_keyring(None, path, create=True).current_key_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["data.key"]
