-- Whether a store has been used: rows in users or audit_events (a freshly migrated store has
-- none). Read by scripts/store_tool.py and by scripts/restore.sh's compose path.
CREATE FUNCTION pg_temp.sextant_used() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    used boolean := false;
    t regclass;
BEGIN
    FOREACH t IN ARRAY ARRAY[to_regclass('public.users'), to_regclass('public.audit_events')] LOOP
        IF t IS NOT NULL THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', t) INTO used;
            IF used THEN RETURN true; END IF;
        END IF;
    END LOOP;
    RETURN false;
END $$;
