package dev.pier.runtime;

import com.github.dockerjava.transport.DockerHttpClient;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.util.SocketAddressResolver;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * docker-java's transport on Jetty's {@link HttpClient}, so that Pier, not the transport, decides how long
 * an engine may take. Unix sockets, TCP and TLS with client certificates go through the same client, and on
 * every one of them:
 * <ul>
 *   <li>each request has a total deadline (request to last byte of the answer) chosen by what it is
 *       ({@link #exchange}): Jetty's scheduler aborts it when it passes, whatever the socket does. A stream
 *       (events, a followed log, stats) has no total deadline, only one for its headers: the node check
 *       notices a frozen engine, and then the event stream is reconnected and the other streams are cut
 *       short ({@link #abortCalls}). A whole log, which may be large and read slowly, has no total deadline
 *       either, but may not fall silent for longer than the read deadline;</li>
 *   <li>no redirect is followed; a 3xx other than 304 (Docker's "nothing to do") is refused;</li>
 *   <li>answers are bounded: {@value #MAX_ANSWER_BYTES} bytes for an ordinary answer, {@value #MAX_STREAM_BYTES}
 *       for pull progress, {@value #MAX_LINE_BYTES} per line of a line-delimited stream (events, pull
 *       progress, stats), {@value #MAX_HEADER_BYTES} of headers; a log is bounded per frame by its reader
 *       ({@link Multiplexed}), not in total; no content encoding is offered or decoded;</li>
 *   <li>every new TCP connection resolves the name again and checks the addresses against the
 *       {@link EngineAddressPolicy}; a socket path is checked before each request.</li>
 * </ul>
 * Docker's attach takes the connection over, which Jetty cannot hand out, so docker-java's attach is
 * refused here and {@link #hijack} opens a connection of its own under the same rules.
 *
 * <p>Failures are {@link UncheckedIOException}s around an {@link IOException}: an {@link EngineAnswerException}
 * when Pier refused the answer, Jetty's or the JDK's exception when the connection failed. Thread-safe.
 */
final class JettyDockerHttpClient implements DockerHttpClient {
    static final int MAX_ANSWER_BYTES = 4 * 1024 * 1024;
    static final int MAX_STREAM_BYTES = 64 * 1024 * 1024;
    static final int MAX_LINE_BYTES = 1024 * 1024;
    static final int MAX_HEADER_BYTES = 64 * 1024;
    /** The most of an answer to an attach Pier reads before the connection is taken over: its head. */
    static final int MAX_UPGRADE_HEAD_BYTES = 16 * 1024;
    /** The most of an engine's refusal of an attach read, for the server log. */
    private static final int MAX_REFUSAL_BYTES = 64 * 1024;

    private static final Pattern STATUS_LINE = Pattern.compile("^HTTP/1\\.[01] (\\d{3})(?: .*)?$");
    private static final Pattern VERSION_PREFIX = Pattern.compile("^/v\\d+(?:\\.\\d+)*(/.*)$");
    private static final Pattern STOP = Pattern.compile("^/containers/[^/]+/(stop|restart)$");
    private static final Pattern LOGS = Pattern.compile("^/containers/[^/]+/logs$");
    private static final Pattern STATS = Pattern.compile("^/containers/[^/]+/stats$");
    /** What one stats sample ({@code stream=0}) may take beyond the read deadline: the engine samples twice. */
    static final Duration STATS_SAMPLING = Duration.ofSeconds(5);

    private final DockerEndpoint endpoint;
    private final HttpClient client;
    private final HttpClient pingClient;
    private final String base;
    private final Transport unix;
    private final Consumer<EngineAnswerException> misbehaviour;
    private volatile SSLContext ssl;
    private final Set<org.eclipse.jetty.client.Request> calls = ConcurrentHashMap.newKeySet();

    /**
     * @param misbehaviour told of every answer refused because the engine broke the protocol (redirects,
     *                     oversized answers), so the runtime can report the node
     */
    JettyDockerHttpClient(DockerEndpoint endpoint, Consumer<EngineAnswerException> misbehaviour) {
        this.endpoint = endpoint;
        this.misbehaviour = misbehaviour;
        if (endpoint.isUnixSocket()) {
            unix = new Transport.TCPUnix(Path.of(endpoint.uri().getPath()));
            base = "http://localhost";
        } else {
            unix = null;
            String scheme = endpoint.tls().isPresent() ? "https" : "http";
            base = scheme + "://" + endpoint.uri().getRawAuthority();
        }
        client = newClient("pier-docker " + endpoint.uri(), 64, 64);
        // the ping has its own client: a node check measures the engine, not the queue of Pier's own calls
        // (fifty deploys at once would otherwise hold the ping behind them, past its deadline)
        pingClient = newClient("pier-docker-ping " + endpoint.uri(), 2, 8);
    }

    private HttpClient newClient(String name, int maxConnections, int maxThreads) {
        QueuedThreadPool threads = new QueuedThreadPool(maxThreads, 2, 30_000);
        threads.setName(name);
        threads.setDaemon(true);
        threads.setReservedThreads(0);
        HttpClient c = new HttpClient();
        c.setExecutor(threads);
        c.setFollowRedirects(false);
        c.setMaxRedirects(0);
        c.setConnectTimeout(endpoint.deadlines().connect().toMillis());
        c.setIdleTimeout(30_000);
        c.setMaxConnectionsPerDestination(maxConnections);
        c.setMaxResponseHeadersSize(MAX_HEADER_BYTES);
        c.setHttpCookieStore(new HttpCookieStore.Empty());
        c.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, "Pier"));
        if (unix == null) {
            c.setSocketAddressResolver(new PolicyResolver(c));
        }
        endpoint.tls().ifPresent(t -> {
            SslContextFactory.Client ssl = new SslContextFactory.Client();
            ssl.setSslContext(t.sslContext());
            // the engine's certificate is checked against the node's CA; its name is what the admin typed
            ssl.setEndpointIdentificationAlgorithm("HTTPS");
            c.setSslContextFactory(ssl);
        });
        try {
            c.start();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the HTTP client for " + endpoint.display(), e);
        }
        // Jetty loads every content decoder it finds when there is none; Pier accepts no encoding at all
        c.getContentDecoderFactories().clear();
        return c;
    }

    /**
     * What kind of call a request is: its deadline and how much of an answer it may have.
     *
     * @param deadline        from the request to the answer's last byte; null for a stream
     * @param headersDeadline for the answer's headers
     * @param idle            the longest silence in the answer; null for none (a quiet stream is not a dead one)
     * @param maxBytes        the largest answer
     * @param maxLine         the longest line of a line-delimited answer; 0 when it is not one
     * @param stream          closing it before its end aborts it (an ordinary answer is drained, to reuse its
     *                        connection)
     * @param abortable       cut short by {@link #abortCalls}: everything but the event stream, which reconnects
     *                        by itself
     */
    record Exchange(
            Duration deadline,
            Duration headersDeadline,
            Duration idle,
            long maxBytes,
            int maxLine,
            boolean stream,
            boolean abortable) {

        /** An ordinary call: one deadline for all of it. */
        static Exchange call(Duration deadline, long maxBytes) {
            return new Exchange(deadline, deadline, deadline, maxBytes, 0, false, true);
        }
    }

    /** The deadline and limits of a Docker API request, by its method and path. */
    static Exchange exchange(String method, String pathAndQuery, DockerEndpoint.Deadlines d) {
        int q = pathAndQuery.indexOf('?');
        String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        String query = q < 0 ? "" : pathAndQuery.substring(q + 1);
        Matcher v = VERSION_PREFIX.matcher(path);
        if (v.matches()) {
            path = v.group(1);
        }
        boolean get = method.equalsIgnoreCase("GET") || method.equalsIgnoreCase("HEAD");
        if (get && path.equals("/_ping")) {
            return Exchange.call(d.ping(), 1024);
        }
        if (get && path.equals("/events")) {
            return new Exchange(null, d.read(), null, Long.MAX_VALUE, MAX_LINE_BYTES, true, false);
        }
        if (method.equalsIgnoreCase("POST") && path.equals("/images/create")) {
            return new Exchange(d.pull(), d.pull(), d.pull(), MAX_STREAM_BYTES, MAX_LINE_BYTES, true, true);
        }
        if (get && LOGS.matcher(path).matches()) {
            if (queryFlag(query, "follow")) {
                return new Exchange(null, d.read(), null, Long.MAX_VALUE, 0, true, true);
            }
            // a whole log may be large and its reader slow (a download): no limit on its size or its length
            // in time, as long as it keeps coming; its frames are bounded by the reader
            return new Exchange(null, d.read(), d.read(), Long.MAX_VALUE, 0, true, true);
        }
        if (get && STATS.matcher(path).matches()) {
            if (queryFlagOff(query, "stream")) {
                return Exchange.call(d.read().plus(STATS_SAMPLING), MAX_ANSWER_BYTES);
            }
            return new Exchange(null, d.read(), null, Long.MAX_VALUE, MAX_LINE_BYTES, true, true);
        }
        if (get && path.equals("/system/df")) {
            // the engine walks every volume to measure it
            return Exchange.call(d.read().multipliedBy(8), MAX_STREAM_BYTES);
        }
        if (method.equalsIgnoreCase("POST") && STOP.matcher(path).matches()) {
            Duration grace = Duration.ofSeconds(queryInt(query, "t", 10));
            return Exchange.call(d.stop(grace), MAX_ANSWER_BYTES);
        }
        return Exchange.call(get ? d.read() : d.write(), MAX_ANSWER_BYTES);
    }

    @Override
    public Response execute(Request request) {
        if (request.hijackedInput() != null) {
            // docker-java's attach wants the connection handed over, which Jetty cannot do: see hijack()
            throw new UnsupportedOperationException("docker-java's attach is not supported; use DockerRuntime.attach");
        }
        Exchange x = exchange(request.method(), request.path(), endpoint.deadlines());
        if (unix != null) {
            try {
                endpoint.policy().checkSocket(endpoint.uri().getPath());
            } catch (IllegalArgumentException e) {
                throw new UncheckedIOException(
                        new EngineAnswerException(EngineAnswerException.Kind.ADDRESS_REFUSED, e.getMessage()));
            }
        }
        HttpClient via = isPing(request.path()) ? pingClient : client;
        org.eclipse.jetty.client.Request r = via.newRequest(URI.create(base + request.path()))
                .method(request.method())
                .followRedirects(false);
        if (unix != null) {
            r.transport(unix);
        }
        r.headers(h -> request.headers().forEach(h::put));
        byte[] body = request.bodyBytes();
        if (body != null) {
            String type = request.headers().entrySet().stream()
                    .filter(e -> e.getKey().equalsIgnoreCase("content-type"))
                    .map(Map.Entry::getValue)
                    .findFirst()
                    .orElse("application/octet-stream");
            r.body(new BytesRequestContent(type, body));
        }
        if (x.abortable()) {
            // cut short by abortCalls when the engine is found not to answer any more
            calls.add(r);
            r.onComplete(result -> calls.remove(r));
        }
        if (x.deadline() != null) {
            r.timeout(x.deadline().toMillis(), TimeUnit.MILLISECONDS);
        }
        // without one, a quiet stream is not a dead one
        r.idleTimeout(x.idle() == null ? 0 : x.idle().toMillis(), TimeUnit.MILLISECONDS);
        InputStreamResponseListener listener = new InputStreamResponseListener();
        Scheduler.Task headersDeadline = x.deadline() != null
                ? null
                : via.getScheduler()
                        .schedule(
                                () -> r.abort(deadline(x.headersDeadline(), null)),
                                x.headersDeadline().toMillis(),
                                TimeUnit.MILLISECONDS);
        org.eclipse.jetty.client.Response response;
        try {
            r.send(listener);
            // the request's own timeout (or the task above) aborts it in time; this wait only backs that up
            response = listener.get(x.headersDeadline().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            r.abort(e);
            Thread.currentThread().interrupt();
            InterruptedIOException io = new InterruptedIOException("interrupted while waiting for the engine");
            io.initCause(e);
            throw new UncheckedIOException(io);
        } catch (TimeoutException e) {
            EngineAnswerException late = deadline(x.headersDeadline(), e);
            r.abort(late);
            throw new UncheckedIOException(late);
        } catch (ExecutionException e) {
            throw new UncheckedIOException(failure(e.getCause(), x));
        } finally {
            if (headersDeadline != null) {
                headersDeadline.cancel();
            }
        }
        int status = response.getStatus();
        if (status >= 300 && status < 400 && status != 304) {
            EngineAnswerException redirect = misbehaved(new EngineAnswerException(
                    EngineAnswerException.Kind.REDIRECT,
                    "answered with a redirect (HTTP " + status + "); Pier never follows a node's redirects"));
            r.abort(redirect);
            throw new UncheckedIOException(redirect);
        }
        long length = response.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
        if (length > x.maxBytes()) {
            EngineAnswerException big = misbehaved(tooLarge(x.maxBytes()));
            r.abort(big);
            throw new UncheckedIOException(big);
        }
        return new JettyResponse(r, response, new BoundedInput(r, listener.getInputStream(), x));
    }

    /**
     * Opens a connection of its own and sends a request that asks the engine to take the connection over
     * ({@code Connection: Upgrade}, {@code Upgrade: tcp}): Docker's attach, which then carries raw bytes both
     * ways. Jetty cannot hand a connection over, and docker-java's way through {@link #execute} stays refused;
     * this goes around both, with the same rules as every other request: the {@link EngineAddressPolicy}
     * (the socket path; the name resolved now and each address checked), the connect deadline (and the TLS
     * handshake, the engine's certificate verified against the node's CA as for every call), the read deadline
     * for the answer's head, which may be at most {@value #MAX_UPGRADE_HEAD_BYTES} bytes. Once taken over the
     * connection has no deadline.
     *
     * @param pathAndQuery the request's path, e.g. {@code /containers/ID/attach?stream=1&stdout=1}
     * @return the connection when the engine took it over (HTTP 101, or 200 from engines before API 1.24),
     *     otherwise a closed one with the engine's status and the start of its answer
     * @throws UncheckedIOException as {@link #execute} does
     */
    Hijacked hijack(String pathAndQuery) {
        return hijack(pathAndQuery, null);
    }

    /** As {@link #hijack(String)}, with a JSON body (an exec's start takes its options in one). */
    Hijacked hijack(String pathAndQuery, byte[] json) {
        RawConnection c;
        try {
            c = connect();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            String host = unix != null ? "localhost" : endpoint.uri().getRawAuthority();
            String head = "POST " + pathAndQuery + " HTTP/1.1\r\n"
                    + "Host: " + host + "\r\n"
                    + "User-Agent: Pier\r\n"
                    + "Connection: Upgrade\r\n"
                    + "Upgrade: tcp\r\n"
                    + (json == null ? "" : "Content-Type: application/json\r\nContent-Length: " + json.length + "\r\n")
                    + "\r\n";
            Watchdog w = new Watchdog(c, endpoint.deadlines().read());
            Hijacked answer;
            try {
                c.write(head.getBytes(StandardCharsets.US_ASCII));
                if (json != null) {
                    c.write(json);
                }
                answer = readAnswer(c);
            } catch (IOException | RuntimeException e) {
                if (!w.cancel()) {
                    throw deadline(endpoint.deadlines().read(), e);
                }
                throw e;
            }
            if (!w.cancel()) {
                // it came just as the deadline passed, and the watchdog closed it
                throw deadline(endpoint.deadlines().read(), null);
            }
            return answer;
        } catch (IOException e) {
            c.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Reads the answer's head; past it, either the connection as taken over or the engine's refusal. */
    private Hijacked readAnswer(RawConnection c) throws IOException {
        byte[] buf = new byte[MAX_UPGRADE_HEAD_BYTES];
        int filled = 0;
        int end = -1;
        while (end < 0) {
            if (filled == buf.length) {
                throw misbehaved(new EngineAnswerException(
                        EngineAnswerException.Kind.TOO_LARGE,
                        "the head of its answer is larger than the " + MAX_UPGRADE_HEAD_BYTES / 1024
                                + " KiB Pier accepts"));
            }
            int n = c.in.read(buf, filled, buf.length - filled);
            if (n < 0) {
                throw new EOFException("the engine closed the connection before it answered");
            }
            int from = Math.max(0, filled - 3);
            filled += n;
            for (int i = from; i + 3 < filled; i++) {
                if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                    end = i;
                    break;
                }
            }
        }
        String[] lines = new String(buf, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
        Matcher status = STATUS_LINE.matcher(lines[0]);
        if (!status.matches()) {
            throw misbehaved(new EngineAnswerException(
                    EngineAnswerException.Kind.NOT_DOCKER, "its answer to an attach is not HTTP"));
        }
        int code = Integer.parseInt(status.group(1));
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(
                        lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
                        lines[i].substring(colon + 1).strip());
            }
        }
        byte[] rest = Arrays.copyOfRange(buf, end + 4, filled);
        if (code == 101 || code == 200) {
            return new Hijacked(code, "", c, rest);
        }
        if (code >= 300 && code < 400) {
            throw misbehaved(new EngineAnswerException(
                    EngineAnswerException.Kind.REDIRECT,
                    "answered with a redirect (HTTP " + code + "); Pier never follows a node's redirects"));
        }
        // a refusal: its JSON body, for the server log
        long length = -1;
        try {
            length = Long.parseLong(headers.getOrDefault("content-length", "-1"));
        } catch (NumberFormatException ignored) {
            // read what came with the head
        }
        byte[] body = rest;
        if (length > rest.length && length <= MAX_REFUSAL_BYTES) {
            body = Arrays.copyOf(rest, (int) length);
            int got = rest.length;
            while (got < length) {
                int n = c.in.read(body, got, (int) length - got);
                if (n < 0) {
                    break;
                }
                got += n;
            }
            body = Arrays.copyOf(body, got);
        }
        c.close();
        String text = new String(body, 0, Math.min(body.length, MAX_REFUSAL_BYTES), StandardCharsets.UTF_8);
        return new Hijacked(code, text, null, new byte[0]);
    }

    /** A raw connection to the engine, checked against the policy, within the connect deadline. */
    private RawConnection connect() throws IOException {
        Duration limit = endpoint.deadlines().connect();
        if (unix != null) {
            String path = endpoint.uri().getPath();
            try {
                endpoint.policy().checkSocket(path);
            } catch (IllegalArgumentException e) {
                throw new EngineAnswerException(EngineAnswerException.Kind.ADDRESS_REFUSED, e.getMessage());
            }
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                // a unix socket connects at once or not at all
                ch.connect(UnixDomainSocketAddress.of(path));
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            return RawConnection.of(ch);
        }
        String host = EngineAddressPolicy.host(endpoint.uri());
        int port = endpoint.uri().getPort();
        InetAddress[] all;
        try {
            EngineAddressPolicy.checkName(host);
            all = endpoint.policy().resolver().resolve(host);
            endpoint.policy().checkAddresses(host, all, endpoint.tls().isPresent());
        } catch (IllegalArgumentException refused) {
            throw new EngineAnswerException(EngineAnswerException.Kind.ADDRESS_REFUSED, refused.getMessage());
        }
        long until = System.nanoTime() + limit.toNanos();
        IOException failed = null;
        Socket socket = null;
        for (InetAddress a : all) {
            long left = TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime());
            if (left <= 0) {
                break;
            }
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(a, port), (int) Math.min(Integer.MAX_VALUE, left));
                socket = s;
                break;
            } catch (IOException e) {
                s.close();
                failed = e;
            }
        }
        if (socket == null) {
            throw failed != null ? failed : new SocketTimeoutException("connect timed out");
        }
        if (endpoint.tls().isEmpty()) {
            try {
                return RawConnection.of(socket, null);
            } catch (IOException e) {
                socket.close();
                throw e;
            }
        }
        SSLSocket tls;
        RawConnection c;
        try {
            tls = (SSLSocket) sslContext().getSocketFactory().createSocket(socket, host, port, true);
            SSLParameters params = tls.getSSLParameters();
            // the engine's certificate is checked against the node's CA; its name is what the admin typed
            params.setEndpointIdentificationAlgorithm("HTTPS");
            tls.setSSLParameters(params);
            c = RawConnection.of(socket, tls);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        Watchdog w = new Watchdog(c, limit);
        try {
            tls.startHandshake();
        } catch (IOException e) {
            boolean inTime = w.cancel();
            c.close();
            throw inTime ? e : deadline(limit, e);
        }
        if (!w.cancel()) {
            throw deadline(limit, null);
        }
        return c;
    }

    private SSLContext sslContext() {
        SSLContext c = ssl;
        if (c == null) {
            c = endpoint.tls().orElseThrow().sslContext();
            ssl = c;
        }
        return c;
    }

    /** Closes a connection that is not through a phase by its deadline. */
    private final class Watchdog {
        private final Scheduler.Task task;
        private final AtomicBoolean settled = new AtomicBoolean();

        Watchdog(RawConnection c, Duration limit) {
            task = client.getScheduler()
                    .schedule(
                            () -> {
                                if (settled.compareAndSet(false, true)) {
                                    c.close();
                                }
                            },
                            limit.toMillis(),
                            TimeUnit.MILLISECONDS);
        }

        /** Ends the watch; false when the deadline came first and the connection was closed. */
        boolean cancel() {
            task.cancel();
            return settled.compareAndSet(false, true);
        }
    }

    /**
     * A connection the engine took over (or the refusal it answered instead). Reading and writing may go on
     * in two threads at once; {@link #close} may come from any thread and ends both.
     */
    static final class Hijacked implements Closeable {
        private final int status;
        private final String refusal;
        private final RawConnection connection;
        private final InputStream input;

        private Hijacked(int status, String refusal, RawConnection connection, byte[] alreadyRead) {
            this.status = status;
            this.refusal = refusal;
            this.connection = connection;
            this.input = connection == null
                    ? InputStream.nullInputStream()
                    : new SequenceInputStream(new ByteArrayInputStream(alreadyRead), connection.in);
        }

        /** 101 or 200 when taken over; the engine's status otherwise. */
        int status() {
            return status;
        }

        boolean upgraded() {
            return connection != null;
        }

        /** The start of the engine's answer when it refused (for the server log); empty otherwise. */
        String refusal() {
            return refusal;
        }

        /** What the engine sends, from the first byte after the answer's head. */
        InputStream input() {
            return input;
        }

        void write(byte[] bytes) throws IOException {
            if (connection == null) {
                throw new IOException("the engine did not take the connection over");
            }
            connection.write(bytes);
        }

        /** Ends what Pier sends (a half-close); what the engine sends can still be read. */
        void shutdownOutput() throws IOException {
            if (connection == null) {
                throw new IOException("the engine did not take the connection over");
            }
            connection.shutdownOutput();
        }

        @Override
        public void close() {
            if (connection != null) {
                connection.close();
            }
        }
    }

    /**
     * A unix socket channel, or a TCP socket with TLS over it when the node has certificates. Reads and
     * writes go straight to the channel or the socket (no stream that locks one against the other);
     * {@link #close} closes what is underneath first, so it ends a blocked read in any thread at once.
     */
    private static final class RawConnection {
        private final SocketChannel channel;
        private final Socket socket;
        private final SSLSocket tls;
        final InputStream in;
        private final OutputStream out;
        private final AtomicBoolean closed = new AtomicBoolean();

        private RawConnection(SocketChannel channel, Socket socket, SSLSocket tls, InputStream in, OutputStream out) {
            this.channel = channel;
            this.socket = socket;
            this.tls = tls;
            this.in = in;
            this.out = out;
        }

        static RawConnection of(SocketChannel ch) {
            InputStream in = new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    int n = read(one, 0, 1);
                    return n < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (len == 0) {
                        return 0;
                    }
                    return ch.read(ByteBuffer.wrap(b, off, len));
                }
            };
            OutputStream out = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                }
            };
            return new RawConnection(ch, null, null, in, out);
        }

        static RawConnection of(Socket socket, SSLSocket tls) throws IOException {
            socket.setTcpNoDelay(true);
            Socket s = tls != null ? tls : socket;
            return new RawConnection(null, socket, tls, s.getInputStream(), s.getOutputStream());
        }

        void write(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
        }

        void shutdownOutput() throws IOException {
            if (channel != null) {
                channel.shutdownOutput();
            } else if (tls != null) {
                tls.shutdownOutput();
            } else {
                socket.shutdownOutput();
            }
        }

        void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            for (Closeable c : new Closeable[] {channel, socket, tls}) {
                if (c != null) {
                    try {
                        c.close();
                    } catch (IOException ignored) {
                        // closing: nothing more to do with it
                    }
                }
            }
        }
    }

    /** Aborts every call in flight (log and stats streams too, not the event streams), with {@code why}. */
    void abortCalls(String why) {
        for (org.eclipse.jetty.client.Request r : calls) {
            r.abort(new EngineAnswerException(EngineAnswerException.Kind.DEADLINE, why));
        }
    }

    @Override
    public void close() {
        for (HttpClient c : new HttpClient[] {client, pingClient}) {
            try {
                c.stop();
            } catch (Exception e) {
                // closing: what is left is released with the threads
            }
        }
    }

    private static boolean isPing(String path) {
        int q = path.indexOf('?');
        String p = q < 0 ? path : path.substring(0, q);
        Matcher v = VERSION_PREFIX.matcher(p);
        return (v.matches() ? v.group(1) : p).equals("/_ping");
    }

    private EngineAnswerException misbehaved(EngineAnswerException e) {
        try {
            misbehaviour.accept(e);
        } catch (RuntimeException ignored) {
            // the report is best effort; the caller gets the failure either way
        }
        return e;
    }

    /** The failure of a request in Pier's terms where Pier decided it (deadline), Jetty's or the JDK's otherwise. */
    private static IOException failure(Throwable cause, Exchange x) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof EngineAnswerException e) {
                return e;
            }
            if (t instanceof TimeoutException) {
                return deadline(x.deadline() != null ? x.deadline() : x.headersDeadline(), cause);
            }
        }
        return cause instanceof IOException io ? io : new IOException(cause);
    }

    static EngineAnswerException deadline(Duration limit, Throwable cause) {
        return new EngineAnswerException(
                EngineAnswerException.Kind.DEADLINE, "no answer within " + human(limit), cause);
    }

    private static EngineAnswerException tooLarge(long limit) {
        return new EngineAnswerException(
                EngineAnswerException.Kind.TOO_LARGE,
                "its answer is larger than the "
                        + (limit >= 1024 * 1024 ? limit / (1024 * 1024) + " MiB" : limit + " bytes") + " Pier accepts");
    }

    static String human(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }

    private static boolean queryFlag(String query, String name) {
        for (String part : query.split("&")) {
            if (part.equals(name + "=1") || part.equalsIgnoreCase(name + "=true")) {
                return true;
            }
        }
        return false;
    }

    private static boolean queryFlagOff(String query, String name) {
        for (String part : query.split("&")) {
            if (part.equals(name + "=0") || part.equalsIgnoreCase(name + "=false")) {
                return true;
            }
        }
        return false;
    }

    private static int queryInt(String query, String name, int otherwise) {
        for (String part : query.split("&")) {
            if (part.startsWith(name + "=")) {
                try {
                    return Math.max(0, Math.min(3600, Integer.parseInt(part.substring(name.length() + 1))));
                } catch (NumberFormatException e) {
                    return otherwise;
                }
            }
        }
        return otherwise;
    }

    /** Resolves a node's name on every new connection, and refuses what the policy refuses. */
    private final class PolicyResolver implements SocketAddressResolver {
        private final HttpClient client;

        PolicyResolver(HttpClient client) {
            this.client = client;
        }

        @Override
        public void resolve(
                String host,
                int port,
                Map<String, Object> context,
                org.eclipse.jetty.util.Promise<List<InetSocketAddress>> promise) {
            try {
                client.getExecutor().execute(() -> lookUp(host, port, promise));
            } catch (RuntimeException closing) {
                promise.failed(closing);
            }
        }

        private void lookUp(String host, int port, org.eclipse.jetty.util.Promise<List<InetSocketAddress>> promise) {
            try {
                String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
                EngineAddressPolicy policy = endpoint.policy();
                InetAddress[] all;
                try {
                    EngineAddressPolicy.checkName(h);
                    all = policy.resolver().resolve(h);
                    policy.checkAddresses(h, all, endpoint.tls().isPresent());
                } catch (IllegalArgumentException refused) {
                    throw new EngineAnswerException(EngineAnswerException.Kind.ADDRESS_REFUSED, refused.getMessage());
                }
                List<InetSocketAddress> out = new ArrayList<>();
                for (InetAddress a : all) {
                    out.add(new InetSocketAddress(a, port));
                }
                promise.succeeded(out);
            } catch (IOException | RuntimeException e) {
                promise.failed(e);
            }
        }
    }

    private static final class JettyResponse implements Response {
        private final org.eclipse.jetty.client.Request request;
        private final org.eclipse.jetty.client.Response response;
        private final BoundedInput body;

        JettyResponse(
                org.eclipse.jetty.client.Request request,
                org.eclipse.jetty.client.Response response,
                BoundedInput body) {
            this.request = request;
            this.response = response;
            this.body = body;
        }

        @Override
        public int getStatusCode() {
            return response.getStatus();
        }

        @Override
        public Map<String, List<String>> getHeaders() {
            Map<String, List<String>> m = new LinkedHashMap<>();
            for (HttpField f : response.getHeaders()) {
                m.computeIfAbsent(f.getName(), k -> new ArrayList<>()).add(f.getValue());
            }
            return m;
        }

        @Override
        public InputStream getBody() {
            return body;
        }

        @Override
        public void close() {
            try {
                body.close();
            } catch (IOException e) {
                request.abort(e);
            }
        }
    }

    /**
     * The answer's body, counted: past its limits the request is aborted and the read fails with
     * {@link EngineAnswerException}; a read cut by the deadline says so in the same terms. Closing it before
     * the end drains an ordinary answer (so its connection is reused) and aborts a stream.
     */
    private final class BoundedInput extends InputStream {
        private final org.eclipse.jetty.client.Request request;
        private final InputStream in;
        private final Exchange x;
        private long total;
        private int line;
        private boolean eof;
        private boolean closed;

        BoundedInput(org.eclipse.jetty.client.Request request, InputStream in, Exchange x) {
            this.request = request;
            this.in = in;
            this.x = x;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (eof) {
                return -1;
            }
            int n;
            try {
                n = in.read(b, off, len);
            } catch (IOException e) {
                throw translate(e);
            }
            if (n < 0) {
                eof = true;
                return n;
            }
            total += n;
            if (total > x.maxBytes()) {
                throw refuse(tooLarge(x.maxBytes()));
            }
            if (x.maxLine() > 0) {
                for (int i = off; i < off + n; i++) {
                    if (b[i] == '\n') {
                        line = 0;
                    } else if (++line > x.maxLine()) {
                        throw refuse(new EngineAnswerException(
                                EngineAnswerException.Kind.TOO_LARGE,
                                "it sent a line longer than " + x.maxLine() / 1024 + " KiB"));
                    }
                }
            }
            return n;
        }

        private IOException refuse(EngineAnswerException e) {
            misbehaved(e);
            request.abort(e);
            return e;
        }

        private IOException translate(IOException e) {
            Throwable abort = request.getAbortCause();
            for (Throwable t = abort != null ? abort : e; t != null; t = t.getCause() == t ? null : t.getCause()) {
                if (t instanceof EngineAnswerException answer) {
                    return answer;
                }
                if (t instanceof TimeoutException) {
                    Duration limit =
                            x.deadline() != null ? x.deadline() : x.idle() != null ? x.idle() : x.headersDeadline();
                    return deadline(limit, e);
                }
            }
            return e;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            if (!eof && !x.stream()) {
                // the rest of an ordinary answer is usually a newline: read it, so the connection is reused
                byte[] skip = new byte[8192];
                try {
                    while (read(skip, 0, skip.length) >= 0) {
                        // bounded by the deadline and the size limit
                    }
                } catch (IOException e) {
                    eof = false;
                }
            }
            if (!eof) {
                request.abort(new IOException("closed before the end of the answer"));
            }
            in.close();
        }
    }
}
