package dev.pier.auth;

/** An access/refresh pair as issued; the only moment the plaintext exists. */
public record Tokens(String accessToken, String refreshToken, long expiresInSeconds) {}
