package org.openkcm.keystore.core.cache;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The configuration of the key caches (PID {@value KeyCache#PID}). Two layers, set per tier:
 * <ul>
 * <li><b>records</b>: sealed records and their metadata, as the backend returned them. Ciphertext
 * only (the cache sits below the envelope, as OpenBao's cache sits below its barrier).</li>
 * <li><b>material</b>: opened material, bounded and short-lived, overwritten with zeros when it
 * leaves the cache. Off for L2 by default.</li>
 * </ul>
 */
@ObjectClassDefinition(name = "OpenKCM Keystore cache",
        description = "The cache of sealed records (ciphertext) and the optional cache of opened material, per tier.")
public @interface CacheConfig {

    @AttributeDefinition(name = "Enabled", description = "false: every read goes to the backend; nothing is cached.")
    boolean enabled() default true;

    @AttributeDefinition(name = "Record cache size",
            description = "How many sealed records (all tiers together) the record cache holds at most.")
    int records_max_entries() default CacheSettings.DEFAULT_RECORDS_MAX_ENTRIES;

    @AttributeDefinition(name = "Revocation bound (ms)",
            description = "A cached record older than this is read again from its backend before it is served, so "
                    + "that a status or expiry change made by another runtime sharing the backend is honoured here "
                    + "within this time; 0: records are served for their whole time to live.")
    long records_revalidate_millis() default CacheSettings.DEFAULT_REVALIDATE_MILLIS;

    @AttributeDefinition(name = "L2 record time to live (s)",
            description = "How long a sealed L2 record is served from the cache; 0 disables the record cache for L2.")
    long l2_records_ttl_seconds() default CacheSettings.DEFAULT_RECORDS_TTL_SECONDS;

    @AttributeDefinition(name = "L3 record time to live (s)",
            description = "How long a sealed L3 record is served from the cache; 0 disables the record cache for L3.")
    long l3_records_ttl_seconds() default CacheSettings.DEFAULT_RECORDS_TTL_SECONDS;

    @AttributeDefinition(name = "L4 record time to live (s)",
            description = "How long a sealed L4 record is served from the cache; 0 disables the record cache for L4.")
    long l4_records_ttl_seconds() default CacheSettings.DEFAULT_RECORDS_TTL_SECONDS;

    @AttributeDefinition(name = "L2 material cache size",
            description = "How many opened L2 keys to keep; 0 (the default) keeps none: L2 material is opened at each read.")
    int l2_material_max_entries() default 0;

    @AttributeDefinition(name = "L3 material cache size", description = "How many opened L3 keys to keep; 0 keeps none.")
    int l3_material_max_entries() default CacheSettings.DEFAULT_L3_MATERIAL_MAX_ENTRIES;

    @AttributeDefinition(name = "L4 material cache size", description = "How many opened L4 keys to keep; 0 keeps none.")
    int l4_material_max_entries() default CacheSettings.DEFAULT_L4_MATERIAL_MAX_ENTRIES;

    @AttributeDefinition(name = "L2 material time to live (s)",
            description = "How long opened L2 material stays cached after it was opened; then it is overwritten.")
    long l2_material_ttl_seconds() default CacheSettings.DEFAULT_MATERIAL_TTL_SECONDS;

    @AttributeDefinition(name = "L3 material time to live (s)",
            description = "How long opened L3 material stays cached after it was opened; then it is overwritten.")
    long l3_material_ttl_seconds() default CacheSettings.DEFAULT_MATERIAL_TTL_SECONDS;

    @AttributeDefinition(name = "L4 material time to live (s)",
            description = "How long opened L4 material stays cached after it was opened; then it is overwritten.")
    long l4_material_ttl_seconds() default CacheSettings.DEFAULT_MATERIAL_TTL_SECONDS;
}
