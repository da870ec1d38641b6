"""Tests for encryption at rest of BMC passwords."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from snportal.lib.secrets import MASK, DecryptionError, decrypt, derive_key, encrypt, mask, rotate

OLD = "the passphrase we used last year"
NEW = "a brand new passphrase"
PASSWORD = "PASSW0RD-ümlaut"


def test_encrypted_password_decrypts_to_the_original():
    assert decrypt(encrypt(PASSWORD, [NEW]), [NEW]) == PASSWORD


def test_token_does_not_contain_the_password():
    token = encrypt("admin-lab", [NEW])
    assert "admin-lab" not in token
    assert b"admin-lab" not in token.encode()


def test_encrypting_twice_gives_different_tokens():
    assert encrypt(PASSWORD, [NEW]) != encrypt(PASSWORD, [NEW])


def test_token_from_an_old_key_decrypts_when_the_old_key_is_listed_second():
    token = encrypt(PASSWORD, [OLD])
    assert decrypt(token, [NEW, OLD]) == PASSWORD


def test_rotated_token_decrypts_with_the_new_key_alone():
    rotated = rotate(encrypt(PASSWORD, [OLD]), [NEW, OLD])
    assert decrypt(rotated, [NEW]) == PASSWORD


def test_rotated_token_no_longer_opens_with_the_old_key():
    rotated = rotate(encrypt(PASSWORD, [OLD]), [NEW, OLD])
    with pytest.raises(DecryptionError):
        decrypt(rotated, [OLD])


def test_wrong_key_raises_decryption_error():
    with pytest.raises(DecryptionError):
        decrypt(encrypt(PASSWORD, [OLD]), [NEW])


def test_decryption_error_tells_the_operator_what_to_do():
    with pytest.raises(DecryptionError, match="add the old key to SNPORTAL_SECRETS_KEYS_OLD"):
        decrypt(encrypt(PASSWORD, [OLD]), [NEW])


def test_garbage_token_raises_decryption_error():
    with pytest.raises(DecryptionError):
        decrypt("not a token ✗", [NEW])


def test_rotating_with_the_wrong_keys_raises_decryption_error():
    with pytest.raises(DecryptionError):
        rotate(encrypt(PASSWORD, [OLD]), [NEW])


def test_no_keys_is_refused_with_the_setting_name():
    with pytest.raises(ValueError, match="SNPORTAL_SECRETS_KEY"):
        encrypt(PASSWORD, [])


def test_empty_passphrase_is_refused():
    with pytest.raises(ValueError, match="empty"):
        derive_key("")


def test_derived_key_is_the_same_for_the_same_passphrase():
    assert derive_key(NEW) == derive_key(NEW)


def test_derived_keys_differ_between_passphrases():
    assert derive_key(NEW) != derive_key(OLD)


def test_derived_key_is_a_usable_fernet_key():
    fernet = Fernet(derive_key(NEW))
    assert fernet.decrypt(fernet.encrypt(b"x")) == b"x"


def test_mask_hides_a_set_secret():
    assert mask("hunter2") == MASK == "*******"


def test_mask_shows_an_unset_secret_as_empty():
    assert mask("") == mask(None) == ""
