package org.openkcm.keystore.audit.file;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.format.DateTimeFormatter;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import org.openkcm.keystore.audit.AuditRecord;

/**
 * One audit record as one line of JSON, written by Jackson's streaming generator: the fields in a
 * fixed order, absent optional fields as null, the time as an ISO-8601 instant (UTC), and a
 * newline at the end. JSON escapes keep any text on its one line.
 */
final class JsonLine {

    private static final JsonFactory FACTORY = JsonFactory.builder().build();

    private JsonLine() {
    }

    static byte[] of(AuditRecord r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeStringField("time", DateTimeFormatter.ISO_INSTANT.format(r.time()));
            json.writeStringField("caller", r.caller());
            json.writeStringField("channel", r.channel());
            json.writeStringField("operation", r.operation());
            json.writeStringField("keyId", r.keyId());
            json.writeStringField("outcome", r.outcome());
            json.writeStringField("errorClass", r.errorClass());
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode an audit record", e); // a byte array cannot fail
        }
        out.write('\n');
        return out.toByteArray();
    }
}
