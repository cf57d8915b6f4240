/* user_metadata--1.1--1.2.sql: security and correctness fixes */

\echo Use "ALTER EXTENSION user_metadata UPDATE TO '1.2'" to load this file. \quit
