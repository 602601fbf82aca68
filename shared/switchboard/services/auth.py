"""Who is calling: operator logins through Cognito and verification of their tokens against the pool's JWKS."""

from __future__ import annotations

from typing import Any

import jwt

from ..domain.conversation import OperatorView
from ..domain.errors import BadRequest, NotFound, Unauthorized
from ..store.directory import DirectoryStore


class TokenVerifier:
    """Verifies Cognito ID tokens: signature (RS256, keys from the JWKS URL, cached), expiry, audience, use."""

    def __init__(self, jwks_url: str, client_id: str, issuer: str) -> None:
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600)
        self._client_id = client_id
        self._issuer = issuer

    def claims(self, token: str) -> dict[str, Any]:
        if not token:
            raise Unauthorized("Sign in first: the request has no token.")
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=self._client_id, issuer=self._issuer,
                options={"require": ["exp", "iat", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Your session has expired; sign in again.") from None
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized("The token is not valid; sign in again.") from exc
        if claims.get("token_use") != "id":
            raise Unauthorized("Use the ID token to call this API.")
        return claims


class AuthService:
    def __init__(self, verifier: TokenVerifier, directory: DirectoryStore, cognito: Any, client_id: str) -> None:
        self._verifier = verifier
        self._directory = directory
        self._cognito = cognito
        self._client_id = client_id

    def operator(self, token: str) -> OperatorView:
        claims = self._verifier.claims(token)
        tenant_id, operator_id = claims.get("custom:tenant_id"), claims.get("custom:operator_id")
        if not tenant_id or not operator_id:
            raise Unauthorized("This account is not an operator of any workspace.")
        try:
            operator = self._directory.operator(tenant_id, operator_id)
        except NotFound:
            raise Unauthorized("This operator no longer exists.") from None
        return operator.view()

    def login(self, email: object, password: object) -> dict[str, Any]:
        if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
            raise BadRequest("Give an e-mail and a password.")
        try:
            result = self._cognito.initiate_auth(
                ClientId=self._client_id, AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )["AuthenticationResult"]
        except (self._cognito.exceptions.NotAuthorizedException, self._cognito.exceptions.UserNotFoundException):
            raise Unauthorized("Wrong e-mail or password.") from None
        viewer = self.operator(result["IdToken"])
        return {
            "id_token": result["IdToken"],
            "access_token": result["AccessToken"],
            "refresh_token": result.get("RefreshToken"),
            "expires_in": result.get("ExpiresIn", 3600),
            "operator": {"id": viewer.operator_id, "name": viewer.name, "role": viewer.role,
                         "tenant_id": viewer.tenant_id, "email": email},
        }
