# yx-portal-1 (countynet): log idle shells out after 10 minutes
TMOUT=600
readonly TMOUT
export TMOUT
