-- Prefect keeps its tables in their own database beside atomloop's.
CREATE DATABASE prefect OWNER atomloop;
