package dev.pier.matrix;

import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class MatrixLoginSmokeTest {
    @Shared
    static TestServer server;

    @Test
    void owner_logs_in_and_lists_users() {
        Enrollment owner = server.createUser("boss", Role.OWNER);
        String token = server.accessToken(owner);
        Http.Response list = server.http().get("/api/v1/user/list", "Authorization", "Bearer: " + token);
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.json().get(0).get("username").asText()).isEqualTo("boss");
        assertThat(list.json().get(0).get("group").asText()).isEqualTo("owner");
        assertThat(list.body()).doesNotContain(owner.secretBase32());
    }
}
