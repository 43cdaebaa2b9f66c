"""Rich notifications decrypted independently, from Microsoft's documented algorithm, with ``cryptography``;
validation tokens checked against the emulator's JWKS with PyJWT; and a subscription made by msgraph-sdk."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import jwt
from aiohttp.test_utils import TestClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

from emulator.runtime import Runtime
from tests.webhooks import ALICE, APP, Receiver, set_presence, subscribe


def self_signed() -> tuple[rsa.RSAPrivateKey, str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver under test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    return key, base64.b64encode(der).decode(), der


def decrypt(content: dict[str, str], key: rsa.RSAPrivateKey) -> bytes:
    """What a receiver does (change-notifications-with-resource-data.md, "Decrypting resource data")."""
    symmetric = key.decrypt(base64.b64decode(content["dataKey"]), asym_padding.OAEP(
        mgf=asym_padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    data = base64.b64decode(content["data"])
    expected = hmac.new(symmetric, data, hashlib.sha256).digest()
    assert hmac.compare_digest(expected, base64.b64decode(content["dataSignature"])), "signature mismatch"
    decryptor = Cipher(algorithms.AES(symmetric), modes.CBC(symmetric[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    return padded[:-padded[-1]]  # PKCS7


async def test_encrypted_content_decrypts_and_tokens_validate(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    key, certificate, der = self_signed()
    await subscribe(client, runtime, receiver.url(), includeResourceData=True, encryptionCertificate=certificate,
                    encryptionCertificateId="my-cert-1")
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage",
                             json={"statusMessage": {"message": {"content": "In the lab", "contentType": "text"}}})
    assert resp.status == 200
    await set_presence(client, ALICE, "Busy", "InACall")
    items = await receiver.wait_items(2)
    content = items[-1]["encryptedContent"]
    assert content["encryptionCertificateId"] == "my-cert-1"
    assert content["encryptionCertificateThumbprint"] == hashlib.sha1(der).hexdigest().upper()
    presence = json.loads(decrypt(content, key))
    assert presence["@odata.type"] == "#microsoft.graph.presence" and presence["id"] == ALICE
    assert (presence["availability"], presence["activity"]) == ("Busy", "InACall")
    assert presence["statusMessage"]["message"]["content"] == "In the lab"
    assert presence["sequenceNumber"] > json.loads(decrypt(items[0]["encryptedContent"], key))["sequenceNumber"]
    assert items[0]["encryptedContent"]["dataKey"] != content["dataKey"]  # a fresh key per item

    tampered = dict(content, dataSignature=base64.b64encode(b"x" * 32).decode())
    try:
        decrypt(tampered, key)
    except AssertionError:
        pass
    else:
        raise AssertionError("a wrong signature must be detected")

    jwks = await (await client.get("/_emulator/jwks")).json()
    discovery = await (await client.get("/_emulator/.well-known/openid-configuration")).json()
    assert discovery["jwks_uri"].endswith("/_emulator/jwks")
    key_set = jwt.PyJWKSet.from_dict(jwks)
    tenant_id = runtime.tenant.tenant_id
    body = receiver.received[-1][1]
    assert len(body["validationTokens"]) == 1
    for encoded in body["validationTokens"]:
        signing_key = key_set[jwt.get_unverified_header(encoded)["kid"]]
        claims = jwt.decode(encoded, signing_key.key, algorithms=["RS256"], audience=APP,
                            issuer=f"https://sts.windows.net/{tenant_id}/")
        assert claims["appid"] == "0bf30f3b-4a52-48df-9a82-234910c4a086" and claims["tid"] == tenant_id
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"aud": APP}, forged_key, algorithm="RS256",
                        headers={"kid": jwt.get_unverified_header(body["validationTokens"][0])["kid"]})
    try:
        jwt.decode(forged, key_set.keys[0].key, algorithms=["RS256"], audience=APP)
    except jwt.InvalidSignatureError:
        pass
    else:
        raise AssertionError("a token not signed by the emulator must not validate")

    log = await (await client.get("/_emulator/deliveries", params={"kind": "notification"})).json()
    last = log["value"][-1]
    assert last["decrypted"][0] == presence
    assert last["payload"]["value"][0]["encryptedContent"] == content


async def test_bad_certificate_is_400(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    body = await subscribe(client, runtime, receiver.url(), status=400, includeResourceData=True,
                           encryptionCertificate="bm90IGEgY2VydA==", encryptionCertificateId="c")
    assert "certificate" in body["error"]["message"]


async def test_msgraph_sdk_creates_a_subscription(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    from kiota_abstractions.authentication import AnonymousAuthenticationProvider
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.subscription import Subscription

    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())
    adapter.base_url = str(client.make_url("/v1.0"))
    graph = GraphServiceClient(request_adapter=adapter)
    created = await graph.subscriptions.post(Subscription(
        change_type="updated", notification_url=receiver.url(), resource=f"communications/presences/{ALICE}",
        expiration_date_time=runtime.tenant.clock.now() + dt.timedelta(minutes=55), client_state="sdk"))
    assert created is not None and created.id in runtime.tenant.subscriptions.subscriptions
    assert created.client_state == "sdk" and created.expiration_date_time is not None
    fetched = await graph.subscriptions.by_subscription_id(created.id).get()
    assert fetched is not None and fetched.resource == f"communications/presences/{ALICE}"
    listed = await graph.subscriptions.get()
    assert listed is not None and listed.value is not None and [s.id for s in listed.value] == [created.id]
    await set_presence(client, ALICE, "Away", "Away")
    items = await receiver.wait_items(1)
    assert items[0]["clientState"] == "sdk"
    await graph.subscriptions.by_subscription_id(created.id).delete()
    assert runtime.tenant.subscriptions.subscriptions == {}
