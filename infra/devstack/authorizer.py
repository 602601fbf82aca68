"""API Gateway's Cognito user pool authorizer, emulated: the ID token in the Authorization header must verify against
the pool's JWKS (served by moto); its claims become requestContext.authorizer.claims, every value a string."""

from __future__ import annotations

import jwt

from infra.devstack.embedded_aws import REGION


class CognitoAuthorizer:
    def __init__(self, user_pool_arn: str, moto_endpoint: str) -> None:
        pool_id = user_pool_arn.rsplit("/", 1)[1]
        # moto signs tokens with the issuer AWS would use, while it serves the keys itself.
        self._issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
        self._keys = jwt.PyJWKClient(f"{moto_endpoint}/{pool_id}/.well-known/jwks.json")

    def claims(self, authorization: str | None) -> dict[str, str] | None:
        """The token's claims, or None when API Gateway would answer 401.

        The header carries the raw token; a "Bearer " prefix is tolerated. Without OAuth scopes on the method,
        API Gateway accepts only ID tokens."""
        if not authorization:
            return None
        token = authorization.removeprefix("Bearer ").strip()
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=self._issuer,
                                options={"verify_aud": False})
        except jwt.PyJWTError:
            return None
        if claims.get("token_use") != "id":
            return None
        return {name: value if isinstance(value, str) else str(value) for name, value in claims.items()}
