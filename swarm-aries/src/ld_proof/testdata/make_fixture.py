# Builds swarm-aries/src/ld_proof/testdata (run with the ACA-Py 1.7.0 venv of peers/install
# issuer: python make_fixture.py VP.json acapy_signed_vp.json vp.nq): a presentation signed by ACA-Py's own
# Ed25519Signature2018 suite (sign_presentation) with a fixed seed, and pyld's canonical
# N-Quads of the unsigned presentation.
import asyncio, json, sys
import nacl.signing
from pyld import jsonld
from acapy_agent.vc.ld_proofs.document_downloader import StaticCacheJsonLdDownloader
from acapy_agent.vc.ld_proofs.crypto.key_pair import KeyPair
from acapy_agent.vc.ld_proofs import Ed25519Signature2018
from acapy_agent.vc.vc_ld.prove import sign_presentation
from acapy_agent.wallet.util import bytes_to_b58

class K(KeyPair):
    def __init__(self, sk): self.sk = sk
    async def sign(self, m): return self.sk.sign(m).signature
    async def verify(self, m, s): return True
    @property
    def has_public_key(self): return True
    @property
    def public_key(self): return bytes(self.sk.verify_key)
    def from_verification_method(self, vm): return self

sk = nacl.signing.SigningKey(bytes(range(1, 33)))
pub = bytes(sk.verify_key)
fp = "z" + bytes_to_b58(b"\xed\x01" + pub)
did = "did:key:" + fp
loader = StaticCacheJsonLdDownloader().load
vp = json.load(open(sys.argv[1]))
vp["verifiableCredential"][0]["credentialSubject"]["id"] = did
suite = Ed25519Signature2018(key_pair=K(sk), verification_method=did + "#" + fp, date=__import__("datetime").datetime(2026,12,3,15,0,0,tzinfo=__import__("datetime").timezone.utc))
signed = asyncio.run(sign_presentation(presentation=dict(vp), suite=suite, document_loader=loader, challenge="c-1", domain="swarm"))
json.dump(signed, open(sys.argv[2], "w"), indent=1)
open(sys.argv[3], "w").write(jsonld.normalize(vp, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}))
