package dev.pier.live;

import java.util.UUID;

/** Whose a redeemed ticket was: the user and the credential (session or API key, by id) that asked for it. */
record ConsoleTicketRow(UUID userId, String credentialKind, String credentialId) {}
