package dev.pier.security;

import java.util.UUID;

/** What the policy needs to know of a user it decides about: who, and with which role. */
public interface Account {
    UUID id();

    Role role();
}
