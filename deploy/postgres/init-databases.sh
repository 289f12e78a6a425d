#!/usr/bin/env bash
# Creates one database per service, owned by POSTGRES_USER.
#
# Mounted into /docker-entrypoint-initdb.d/ of the official postgres image, which runs it
# once, on the first start with an empty data directory. The list comes from
# POSTGRES_MULTIPLE_DATABASES, comma-separated, e.g. "registry,gateway".
#
# A database added to the list later is NOT created on an existing volume: create it by
# hand (createdb -U jingzhun <name>) or start from a fresh volume (docker compose down -v).
#
# Works whether the entrypoint executes this file or sources it (no `exit`, no `set -u`).
set -Eeo pipefail

create_service_databases() {
    local list="${POSTGRES_MULTIPLE_DATABASES:-}"
    local owner="${POSTGRES_USER:-postgres}"
    local db exists
    if [[ -z "${list}" ]]; then
        echo "init-databases: POSTGRES_MULTIPLE_DATABASES is empty, nothing to create"
        return 0
    fi
    local IFS=','
    for db in ${list}; do
        db="${db//[[:space:]]/}"
        [[ -n "${db}" ]] || continue
        if [[ ! "${db}" =~ ^[a-z_][a-z0-9_]*$ ]]; then
            echo "init-databases: invalid database name '${db}'" >&2
            return 1
        fi
        exists="$(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${owner}" --dbname postgres \
            -tAc "SELECT 1 FROM pg_database WHERE datname = '${db}'")"
        if [[ "${exists}" == "1" ]]; then
            echo "init-databases: database '${db}' already exists"
        else
            echo "init-databases: creating database '${db}' owned by '${owner}'"
            psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${owner}" --dbname postgres \
                -c "CREATE DATABASE \"${db}\" OWNER \"${owner}\""
        fi
    done
}

create_service_databases
