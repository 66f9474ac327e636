package org.openkcm.keystore.features;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.SchemaFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The built features.xml, without Karaf: valid against Karaf's own schema for its namespace,
 * fully filtered, and shaped as documented (each backend depends on openkcm-keystore).
 */
class FeaturesXmlTest {

    private static final String NS = "http://karaf.apache.org/xmlns/features/v1.6.0";

    private final Path features = Path.of(System.getProperty("features.file", "target/feature/features.xml"));

    @Test
    void isValidAgainstKarafsSchema() throws Exception {
        URL xsd = getClass().getResource("/org/apache/karaf/features/karaf-features-1.6.0.xsd");
        assertNotNull(xsd, "Karaf's features schema (from org.apache.karaf.features.core) is on the test class path");
        SchemaFactory factory = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
        factory.newSchema(xsd).newValidator().validate(new StreamSource(features.toFile()));
    }

    @Test
    void isFilteredAndHasTheDocumentedFeatures() throws Exception {
        String text = Files.readString(features, UTF_8);
        assertFalse(text.contains("${project"), "every ${project.*} is filtered");
        String version = System.getProperty("project.version");

        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        dbf.setNamespaceAware(true);
        Document doc = dbf.newDocumentBuilder().parse(features.toFile());
        NodeList list = doc.getDocumentElement().getElementsByTagNameNS(NS, "feature");
        List<String> names = new ArrayList<>();
        for (int i = 0; i < list.getLength(); i++) {
            Element feature = (Element) list.item(i);
            if (feature.getParentNode() != doc.getDocumentElement()) {
                // A dependency: Karaf's own scr and config (any version), or the keystore of this very version.
                String dependency = feature.getTextContent().trim();
                assertTrue(List.of("scr", "config", "openkcm-keystore").contains(dependency), dependency);
                if (dependency.equals("openkcm-keystore") && version != null) {
                    assertEquals(version, feature.getAttribute("version"));
                }
                continue;
            }
            names.add(feature.getAttribute("name"));
            if (version != null) {
                assertEquals(version, feature.getAttribute("version"), feature.getAttribute("name"));
            }
            assertTrue(feature.getElementsByTagNameNS(NS, "bundle").getLength() > 0, feature.getAttribute("name"));
        }
        assertEquals(List.of("openkcm-keystore", "openkcm-keystore-memory", "openkcm-keystore-openbao",
                "openkcm-keystore-postgres", "openkcm-keystore-file", "openkcm-keystore-metrics",
                "openkcm-keystore-kek-transit", "openkcm-keystore-kek-pkcs11", "openkcm-keystore-kek-awskms",
                "openkcm-keystore-plugins", "openkcm-keystore-grpc"), names);
    }
}
